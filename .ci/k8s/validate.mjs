// Offline check of the Kubernetes manifests in deploy/k8s, in place of kubeconform. It builds both
// kustomizations the way kustomize does, for the parts they use (resources, which may be other
// kustomization directories; generators; strategic-merge patches from files): base/, the plaintext
// base, and mtls/, the overlay that runs every hop on mTLS. Then, for each:
//  1. every resource the kustomization lists exists, and every file its generators read exists
//     (or is one that deploy/k8s/make-secrets writes); every patch applies;
//  2. every document validates against the Kubernetes, CloudNativePG or cert-manager schema of its
//     kind (types, formats, required fields), from the kubernetes-models packages;
//  3. no document has a field its schema does not know: each is compiled by TypeScript against
//     the same models' types, whose excess-property check catches a misspelt or misplaced field;
//  4. Fortress's own rules: non-root read-only pods with every capability dropped, resources,
//     gRPC health probes and a PodDisruptionBudget for every workload, the ring matching the
//     StatefulSet, a decoy that can reach nothing internal and holds no key that signs and no node
//     token, public keys only for token checks, each member with its own node token (base) or its
//     own certificate (mtls), and probes that work under mTLS.
// Usage: node validate.mjs [dir]   (default: deploy/k8s). Exits 1 listing every problem.
// node validate.mjs --self-test checks that broken manifests are caught.
import { readFileSync, existsSync, statSync, mkdtempSync, mkdirSync, writeFileSync, cpSync, rmSync } from "node:fs";
import { join, dirname, resolve, relative } from "node:path";
import { tmpdir } from "node:os";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, parse } from "yaml";

const here = dirname(fileURLToPath(import.meta.url));

// apiVersion/kind -> [module, class] of its model.
const MODELS = {
  "v1/Namespace": ["kubernetes-models/v1/Namespace", "Namespace"],
  "v1/Service": ["kubernetes-models/v1/Service", "Service"],
  "v1/ConfigMap": ["kubernetes-models/v1/ConfigMap", "ConfigMap"],
  "apps/v1/Deployment": ["kubernetes-models/apps/v1/Deployment", "Deployment"],
  "apps/v1/StatefulSet": ["kubernetes-models/apps/v1/StatefulSet", "StatefulSet"],
  "policy/v1/PodDisruptionBudget": ["kubernetes-models/policy/v1/PodDisruptionBudget", "PodDisruptionBudget"],
  "networking.k8s.io/v1/NetworkPolicy": ["kubernetes-models/networking.k8s.io/v1/NetworkPolicy", "NetworkPolicy"],
  "postgresql.cnpg.io/v1/Cluster": ["@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/Cluster", "Cluster"],
  "postgresql.cnpg.io/v1/ScheduledBackup": ["@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/ScheduledBackup",
    "ScheduledBackup"],
  "cert-manager.io/v1/Issuer": ["@kubernetes-models/cert-manager/cert-manager.io/v1/Issuer", "Issuer"],
  "cert-manager.io/v1/Certificate": ["@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate", "Certificate"],
};

// The kustomizations under deploy/k8s: the plaintext base, and the mTLS overlay on it.
const BUILDS = [{ name: "base", mtls: false }, { name: "mtls", mtls: true }];
// What deploy/k8s/make-secrets writes into base/ (never committed).
const MADE_BY_MAKE_SECRETS = ["secrets.env", "member-tokens.env", "member-tokens.txt", "ledger-db.env",
  "shadow-db.env", "decoy-db.env"];
// Strategic-merge keys of the lists the patches touch (as Kubernetes declares them).
const MERGE_KEYS = { containers: "name", initContainers: "name", volumes: "name", volumeMounts: "mountPath",
  env: "name", ports: "containerPort" };
const MEMBER_TOKENS = "fortress-member-tokens";
const NODE_TOKEN_ARGS = ["--node-token-file", "--member-tokens-file"];
const TLS_ARGS = ["--tls-cert-file", "--tls-key-file", "--tls-ca-file"];
// The only keys of fortress-secrets the decoy may see: the public JWK set and its own token.
const DECOY_KEYS = ["auth-jwks", "decoy-shadow-token"];
const CSI_DRIVER = "csi.cert-manager.io";
const name = (doc) => doc.spec?.template?.metadata?.labels?.["app.kubernetes.io/name"] ?? doc.metadata?.name;

const clone = (v) => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

/** A strategic merge of {@code patch} into {@code target} (the subset deploy/k8s uses). */
function merge(target, patch, key, problems, where) {
  if (Array.isArray(patch)) {
    const mergeKey = MERGE_KEYS[key];
    if (!mergeKey || !Array.isArray(target)) return clone(patch.filter((p) => p?.$patch !== "delete"));
    const out = target.map(clone);
    for (const item of patch) {
      const at = out.findIndex((t) => t[mergeKey] === item[mergeKey]);
      if (item.$patch === "delete") {
        if (at < 0) problems.push(`${where}: deletes ${key} ${item[mergeKey]}, which the base does not have`);
        else out.splice(at, 1);
      } else if (item.$patch) {
        problems.push(`${where}: $patch: ${item.$patch} is not supported by this check`);
      } else if (at >= 0) {
        out[at] = merge(out[at], item, undefined, problems, where);
      } else {
        out.push(clone(item));
      }
    }
    return out;
  }
  if (patch && typeof patch === "object") {
    const out = target && typeof target === "object" && !Array.isArray(target) ? { ...target } : {};
    for (const [k, v] of Object.entries(patch)) {
      if (k === "$patch") problems.push(`${where}: $patch: ${v} is not supported here by this check`);
      else if (v === null) delete out[k];
      else out[k] = merge(out[k], v, k, problems, where);
    }
    return out;
  }
  return patch;
}

/**
 * The documents a kustomization directory builds: its resources (files, and directories built
 * the same way), a stand-in for each generated ConfigMap and Secret, and its patches applied.
 */
function build(dir, root, problems) {
  const at = relative(root, dir) || ".";
  const file = join(dir, "kustomization.yaml");
  if (!existsSync(file)) {
    problems.push(`${at}: no kustomization.yaml`);
    return [];
  }
  const k = parse(readFileSync(file, "utf8"));
  for (const unsupported of ["patchesStrategicMerge", "patchesJson6902", "replacements", "components"]) {
    if (k[unsupported]) problems.push(`${at}/kustomization: ${unsupported} is not supported by this check; use patches: - path:`);
  }
  const docs = [];
  for (const r of k.resources ?? []) {
    const path = join(dir, r);
    if (!existsSync(path)) {
      problems.push(`${at}/kustomization: resource ${r} is missing`);
    } else if (statSync(path).isDirectory()) {
      docs.push(...build(path, root, problems));
    } else {
      for (const d of parseAllDocuments(readFileSync(path, "utf8"))) {
        const where = relative(root, path);
        if (d.errors.length) {
          problems.push(`${where}: YAML: ${d.errors[0].message}`);
          continue;
        }
        const doc = d.toJS();
        if (doc) docs.push({ file: where, doc });
      }
    }
  }
  const makeSecrets = existsSync(join(root, "make-secrets"));
  for (const [kind, gens] of [["ConfigMap", k.configMapGenerator], ["Secret", k.secretGenerator]]) {
    for (const gen of gens ?? []) {
      for (const f of [...(gen.files ?? []), ...(gen.envs ?? [])]) {
        const path = f.includes("=") ? f.split("=")[1] : f;
        if (/\.jwk$|issuer/.test(path)) {
          problems.push(`${at}/kustomization: ${gen.name} reads ${path}: the issuer key signs tokens and never enters the cluster`);
        }
        if (!existsSync(join(dir, path)) && !(MADE_BY_MAKE_SECRETS.includes(path) && makeSecrets)) {
          problems.push(`${at}/kustomization: ${gen.name} reads ${path}, which is missing`);
        }
      }
      docs.push({ file: `${at}/kustomization.yaml`, generated: true,
        doc: { apiVersion: "v1", kind, metadata: { name: gen.name } } });
    }
  }
  for (const p of k.patches ?? []) {
    if (!p.path || p.target || p.patch) {
      problems.push(`${at}/kustomization: only patches given by path (strategic merge) are supported by this check`);
      continue;
    }
    const path = join(dir, p.path);
    if (!existsSync(path)) {
      problems.push(`${at}/kustomization: patch ${p.path} is missing`);
      continue;
    }
    for (const patch of parseAllDocuments(readFileSync(path, "utf8")).map((d) => d.toJS()).filter(Boolean)) {
      const where = `${relative(root, path)}: ${patch.kind} ${patch.metadata?.name}`;
      const i = docs.findIndex(({ doc }) => doc.apiVersion === patch.apiVersion && doc.kind === patch.kind
        && doc.metadata?.name === patch.metadata?.name);
      if (i < 0) {
        problems.push(`${where}: the patch matches no resource`);
      } else if (patch.$patch === "delete") {
        docs.splice(i, 1);
      } else {
        const { apiVersion, kind, metadata: { name: _, ...metadata }, ...body } = patch;
        const changes = Object.keys(metadata).length ? { ...body, metadata } : body;
        docs[i] = { ...docs[i], doc: merge(docs[i].doc, changes, undefined, problems, where) };
      }
    }
  }
  return docs;
}

/** A pod's container args as flag -> value. */
function flags(container) {
  const out = {};
  for (const a of container.args ?? []) {
    const eq = a.indexOf("=");
    out[eq < 0 ? a : a.slice(0, eq)] = eq < 0 ? "" : a.slice(eq + 1);
  }
  return out;
}

async function schemas(docs, problems) {
  for (const { doc, where } of docs) {
    const model = MODELS[`${doc.apiVersion}/${doc.kind}`];
    if (!model) {
      problems.push(`${where}: no schema for ${doc.apiVersion}/${doc.kind}`);
      continue;
    }
    const Model = (await import(model[0]))[model[1]];
    try {
      new Model(doc).validate();
    } catch (e) {
      problems.push(`${where}: ${e.message}`);
    }
  }
}

/** Unknown fields, through TypeScript's excess-property check, for every build at once. */
function unknownFields(docs, problems) {
  const typed = docs.filter(({ doc }) => MODELS[`${doc.apiVersion}/${doc.kind}`]);
  const lines = [];
  typed.forEach(({ doc }, i) => {
    const [module, cls] = MODELS[`${doc.apiVersion}/${doc.kind}`];
    lines.push(`import type { I${cls} as T${i} } from "${module}";`);
  });
  typed.forEach(({ doc }, i) => lines.push(`export const m${i}: T${i} = ${JSON.stringify(doc)};`));
  const work = join(here, "out");
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, "manifests.ts"), lines.join("\n") + "\n");
  try {
    execFileSync(process.execPath, [join(here, "node_modules/typescript/bin/tsc"), "-p", join(here, "tsconfig.json")],
      { cwd: here, stdio: "pipe" });
  } catch (e) {
    const out = String(e.stdout ?? "") + String(e.stderr ?? "");
    const before = problems.length;
    for (const line of out.split("\n").filter((l) => l.includes("error TS"))) {
      const at = /manifests\.ts\((\d+),/.exec(line);
      const index = at ? Number(at[1]) - 1 - typed.length : -1;
      const name = index >= 0 && index < typed.length ? typed[index].where : "manifests";
      problems.push(`${name}: ${line.replace(/^.*error TS\d+: /, "")}`);
    }
    if (problems.length === before) problems.push(`TypeScript check failed: ${out.slice(0, 500)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The rules every build keeps: pods, probes, budgets, the ring, the network, keys and tokens. */
function podRules(docs, dir, problems) {
  const workloads = docs.filter(({ doc }) => doc.kind === "Deployment" || doc.kind === "StatefulSet");
  const budgets = docs.filter(({ doc }) => doc.kind === "PodDisruptionBudget").map(({ doc }) => doc);
  const secrets = new Set(docs.filter(({ doc }) => doc.kind === "Secret").map(({ doc }) => doc.metadata.name));
  for (const { doc, where } of workloads) {
    const pod = doc.spec?.template?.spec ?? {};
    const labels = doc.spec?.template?.metadata?.labels ?? {};
    if (pod.securityContext?.runAsNonRoot !== true) problems.push(`${where}: pod must set runAsNonRoot: true`);
    if (pod.automountServiceAccountToken !== false) problems.push(`${where}: pod must not mount a service account token`);
    for (const c of pod.containers ?? []) {
      const sc = c.securityContext ?? {};
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}/${c.name}: readOnlyRootFilesystem must be true`);
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}/${c.name}: allowPrivilegeEscalation must be false`);
      if (!(sc.capabilities?.drop ?? []).includes("ALL")) problems.push(`${where}/${c.name}: must drop ALL capabilities`);
      if (!c.resources?.requests?.cpu || !c.resources?.requests?.memory || !c.resources?.limits?.memory) {
        problems.push(`${where}/${c.name}: needs cpu and memory requests and a memory limit`);
      }
      for (const probe of ["readinessProbe", "livenessProbe"]) {
        if (!c[probe]?.grpc) problems.push(`${where}/${c.name}: ${probe} must be a gRPC health probe`);
      }
      for (const a of c.args ?? []) {
        if (/auth-hs256-key|issuer/.test(a)) {
          problems.push(`${where}/${c.name}: ${a.split("=")[0]}: no server gets a key that signs tokens (use --auth-jwks-file)`);
        }
      }
      for (const ref of (c.env ?? []).map((e) => e.valueFrom?.secretKeyRef).filter(Boolean)) {
        if (!secrets.has(ref.name) && !ref.optional) problems.push(`${where}/${c.name}: secret ${ref.name} does not exist`);
      }
    }
    for (const v of pod.volumes ?? []) {
      if (!v.secret) continue;
      if (!secrets.has(v.secret.secretName)) problems.push(`${where}: volume ${v.name}: secret ${v.secret.secretName} does not exist`);
      if (v.secret.defaultMode !== 0o400) problems.push(`${where}: volume ${v.name}: secrets are mounted 0400 (defaultMode: 256)`);
      for (const item of v.secret.items ?? []) {
        if (/auth-hs256-key|issuer|\.jwk$/.test(item.key)) {
          problems.push(`${where}: volume ${v.name} mounts ${item.key}: no pod gets a key that signs tokens`);
        }
      }
    }
    if (["proxy", "shadow", "decoy"].includes(name(doc))) {
      const c = (pod.containers ?? [])[0] ?? {};
      if (!flags(c)["--auth-jwks-file"]) problems.push(`${where}: verifies tokens with public keys: needs --auth-jwks-file`);
    }
    const covered = budgets.some((b) => Object.entries(b.spec?.selector?.matchLabels ?? {})
      .every(([k, v]) => labels[k] === v) && Object.keys(b.spec?.selector?.matchLabels ?? {}).length);
    if (!covered) problems.push(`${where}: no PodDisruptionBudget selects its pods`);
  }

  const decoy = workloads.find(({ doc }) => name(doc) === "decoy");
  if (decoy) {
    const pod = decoy.doc.spec.template.spec;
    for (const v of pod.volumes ?? []) {
      if (v.secret?.secretName === MEMBER_TOKENS) problems.push(`${decoy.where}: the decoy mounts node tokens (${v.name})`);
      if (v.secret?.secretName === "fortress-secrets") {
        const keys = (v.secret.items ?? []).map((i) => i.key);
        if (!v.secret.items || keys.some((key) => !DECOY_KEYS.includes(key))) {
          problems.push(`${decoy.where}: the decoy may mount only ${DECOY_KEYS} of fortress-secrets, not ${keys.length ? keys : "all of it"}`);
        }
      }
    }
    for (const c of pod.containers ?? []) {
      for (const f of NODE_TOKEN_ARGS) if (f in flags(c)) problems.push(`${decoy.where}: the decoy is no cluster member: no ${f}`);
    }
  }
  for (const { doc, where } of docs.filter(({ doc }) => doc.kind === "Service" && doc.spec?.type === "LoadBalancer")) {
    if (doc.spec?.selector?.["app.kubernetes.io/name"] === "decoy" && doc.spec.externalTrafficPolicy !== "Local") {
      problems.push(`${where}: the decoy's LoadBalancer needs externalTrafficPolicy: Local, or it sees node addresses, not attackers'`);
    }
  }

  const ledger = workloads.find(({ doc }) => doc.kind === "StatefulSet" && doc.metadata?.name === "ledger")?.doc;
  if (existsSync(join(dir, "ring.txtpb")) && ledger) {
    const ring = readFileSync(join(dir, "ring.txtpb"), "utf8");
    const ids = [...ring.matchAll(/node_id:\s*"([^"]+)"/g)].map((m) => m[1]);
    const want = Array.from({ length: ledger.spec.replicas }, (_, i) => `ledger-${i}`);
    if (JSON.stringify(ids) !== JSON.stringify(want)) {
      problems.push(`ring.txtpb: node ids ${ids} must be the StatefulSet's pods ${want}`);
    }
    for (const m of ring.matchAll(/address:\s*"([^"]+)"/g)) {
      if (!m[1].includes(`.${ledger.spec.serviceName}.`)) {
        problems.push(`ring.txtpb: ${m[1]} is not an address under the ${ledger.spec.serviceName} service`);
      }
    }
  }

  const policies = docs.filter(({ doc }) => doc.kind === "NetworkPolicy").map(({ doc }) => doc);
  if (!policies.some((p) => JSON.stringify(p.spec?.podSelector) === "{}" && !p.spec?.ingress && !p.spec?.egress
    && (p.spec?.policyTypes ?? []).includes("Egress"))) {
    problems.push("network-policies: a default-deny policy for ingress and egress is required");
  }
  const decoyEgress = policies.filter((p) => p.spec?.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "decoy")
    .flatMap((p) => p.spec?.egress ?? []);
  if (!decoyEgress.length) problems.push("network-policies: the decoy needs its own egress policy");
  for (const rule of decoyEgress) {
    const targets = (rule.to ?? []).map((t) => t.podSelector?.matchLabels ?? null);
    const allowed = targets.length > 0 && targets.every((l) => l && (l["app.kubernetes.io/name"] === "shadow"
      || l["cnpg.io/cluster"] === "decoy-pg"));
    if (!allowed) problems.push(`network-policies: decoy egress may reach only the shadow server and decoy-pg, not ${JSON.stringify(rule)}`);
  }
  return workloads;
}

/** Without mTLS: each member its own node token, the proxy only its own. */
function tokenRules(workloads, problems) {
  for (const { doc, where } of workloads) {
    const pod = doc.spec.template.spec;
    const f = flags(pod.containers[0]);
    const memberVolume = (pod.volumes ?? []).find((v) => v.secret?.secretName === MEMBER_TOKENS);
    const mount = memberVolume && pod.containers[0].volumeMounts?.find((m) => m.name === memberVolume.name)?.mountPath;
    if (name(doc) === "ledger") {
      if (f["--node-token-file"] !== `${mount}/$(POD_NAME)` || f["--member-tokens-file"] !== `${mount}/member-tokens.txt`) {
        problems.push(`${where}: each node presents its own token (--node-token-file=<member-tokens mount>/$(POD_NAME)) `
          + "and checks others' against --member-tokens-file=<member-tokens mount>/member-tokens.txt");
      }
    }
    if (name(doc) === "proxy") {
      const items = (memberVolume?.secret?.items ?? []).map((i) => i.key);
      if (JSON.stringify(items) !== JSON.stringify(["proxy"])) {
        problems.push(`${where}: the proxy mounts its own token only (items: [proxy]), so it cannot act as a ledger node`);
      }
      if (f["--node-token-file"] !== `${mount}/proxy`) problems.push(`${where}: --node-token-file must be its own token`);
    }
  }
}

/** Under mTLS: every server on TLS requiring client certificates, identities from the CA, probes on a health port. */
function mtlsRules(workloads, docs, baseWorkloads, problems) {
  const issuers = new Set(docs.filter(({ doc }) => doc.kind === "Issuer").map(({ doc }) => doc.metadata.name));
  for (const { doc, where } of workloads) {
    const pod = doc.spec.template.spec;
    const c = pod.containers[0];
    const f = flags(c);
    for (const flag of TLS_ARGS) if (!f[flag]) problems.push(`${where}: needs ${flag} under mTLS`);
    if (f["--tls-client-auth"] !== "true") problems.push(`${where}: needs --tls-client-auth=true under mTLS`);
    for (const flag of NODE_TOKEN_ARGS) if (flag in f) problems.push(`${where}: ${flag}: members are known by certificate under mTLS`);
    if ((pod.volumes ?? []).some((v) => v.secret?.secretName === MEMBER_TOKENS)) problems.push(`${where}: mounts node tokens under mTLS`);
    // The TLS files come from one csi-driver volume whose certificate names this workload.
    const tlsMount = (c.volumeMounts ?? []).find((m) => f["--tls-cert-file"]?.startsWith(m.mountPath + "/"));
    const csi = (pod.volumes ?? []).find((v) => v.name === tlsMount?.name)?.csi;
    if (!csi || csi.driver !== CSI_DRIVER) {
      problems.push(`${where}: --tls-cert-file must be in a ${CSI_DRIVER} volume`);
    } else {
      const a = csi.volumeAttributes ?? {};
      for (const flag of TLS_ARGS) {
        if (!f[flag]?.startsWith(tlsMount.mountPath + "/")) problems.push(`${where}: ${flag} must be in the ${CSI_DRIVER} volume`);
      }
      if (!issuers.has(a["csi.cert-manager.io/issuer-name"]) || (a["csi.cert-manager.io/issuer-kind"] ?? "Issuer") !== "Issuer") {
        problems.push(`${where}: the certificate's issuer ${a["csi.cert-manager.io/issuer-name"]} is no Issuer here`);
      }
      if (a["csi.cert-manager.io/key-encoding"] !== "PKCS8") problems.push(`${where}: --tls-key-file reads PKCS8 keys: key-encoding: PKCS8`);
      if (a["csi.cert-manager.io/fs-group"] !== String(pod.securityContext?.runAsGroup)) {
        problems.push(`${where}: the certificate volume's fs-group must be the pod's runAsGroup, or the server cannot read its key`);
      }
      if (!(a["csi.cert-manager.io/key-usages"] ?? "").includes("client auth")) {
        problems.push(`${where}: its certificate is also a client certificate: key-usages must include client auth`);
      }
      const cn = a["csi.cert-manager.io/common-name"];
      const want = { ledger: "${POD_NAME}", proxy: "proxy" }[name(doc)];
      if (want ? cn !== want : (cn === "${POD_NAME}" || cn === "proxy" || /^ledger-\d+$/.test(cn ?? ""))) {
        problems.push(`${where}: certificate common name ${cn}: ${want ? `must be ${want}, its member identity`
          : "is a cluster member's identity, which only ledger pods and the proxy may hold"}`);
      }
    }
    // Kubernetes' probes cannot present a client certificate: they use the plaintext health port.
    const health = Number(f["--health-port"]);
    if (!health || health === Number(f["--grpc-port"])) problems.push(`${where}: needs --health-port, apart from --grpc-port`);
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      if (c[probe] && c[probe].grpc?.port !== health) problems.push(`${where}: ${probe} must probe --health-port ${health}`);
    }
    // A patch replaces args whole: it must keep every base argument but the node tokens'.
    const base = baseWorkloads.find((b) => b.doc.kind === doc.kind && b.doc.metadata.name === doc.metadata.name);
    for (const a of base?.doc.spec.template.spec.containers[0].args ?? []) {
      if (!NODE_TOKEN_ARGS.includes(a.split("=")[0]) && !(c.args ?? []).includes(a)) {
        problems.push(`${where}: drops the base's ${a}`);
      }
    }
  }
}

async function check(root) {
  const problems = [];
  const all = [];
  const built = {};
  for (const b of BUILDS) {
    const docs = build(join(root, b.name), root, problems).map((d) => ({ ...d,
      where: `${b.name}: ${d.file}: ${d.doc.kind ?? "?"} ${d.doc.metadata?.name ?? "?"}` }));
    built[b.name] = docs;
    all.push(...docs.filter((d) => !d.generated));
  }
  await schemas(all, problems);
  unknownFields(all, problems);
  const baseWorkloads = podRules(built.base, join(root, "base"), []);
  for (const b of BUILDS) {
    const workloads = podRules(built[b.name], join(root, "base"), problems);
    if (b.mtls) mtlsRules(workloads, built[b.name], baseWorkloads, problems);
    else tokenRules(workloads, problems);
  }
  return { problems: [...new Set(problems)], documents: all.length };
}

async function main() {
  if (process.argv[2] === "--self-test") {
    const source = resolve(here, "../../deploy/k8s");
    const broken = [
      ["base/proxy.yaml", (s) => s.replace("image: fortress/shard-proxy", "image: fortress/shard-proxy\n          replicas: 2"),
        /Deployment proxy: .*replicas/],
      ["base/ledger.yaml", (s) => s.replace("replicas: 3", "replicas: three"), /StatefulSet ledger: .*replicas/],
      ["base/postgres.yaml", (s) => s.replace("minSyncReplicas: 1", "minSyncReplica: 1"), /minSyncReplica/],
      ["base/network-policies.yaml", (s) => s.replace("cnpg.io/cluster: decoy-pg", "cnpg.io/cluster: ledger-0-pg"),
        /decoy egress/],
      ["base/decoy.yaml", (s) => s.replace("externalTrafficPolicy: Local", "externalTrafficPolicy: Cluster"),
        /externalTrafficPolicy: Local/],
      ["base/decoy.yaml", (s) => s.replace("- key: decoy-shadow-token", "- key: journal-key"),
        /decoy may mount only/],
      ["base/decoy.yaml", (s) => s.replace("secretName: fortress-secrets", "secretName: fortress-member-tokens"),
        /decoy mounts node tokens/],
      ["base/proxy.yaml", (s) => s.replace("--auth-jwks-file=/etc/fortress/secrets/auth-jwks",
        "--auth-hs256-key-file=/etc/fortress/secrets/auth-hs256-key"), /key that signs tokens/],
      ["base/kustomization.yaml", (s) => s.replace("      - member-tokens.txt", "      - member-tokens.txt\n      - issuer.jwk"),
        /the issuer key signs tokens and never enters the cluster/],
      ["base/proxy.yaml", (s) => s.replace(/            items:\n              - key: proxy\n                path: proxy\n/, ""),
        /mounts its own token only/],
      ["base/ledger.yaml", (s) => s.replace("member-tokens/$(POD_NAME)", "member-tokens/ledger-0"),
        /presents its own token/],
      ["mtls/shadow.yaml", (s) => s.replace('common-name: "shadow"', 'common-name: "proxy"'),
        /Deployment shadow: certificate common name proxy: is a cluster member's/],
      ["mtls/ledger.yaml", (s) => s.replace("port: 50062", "port: 50061"), /startupProbe must probe --health-port/],
      ["mtls/decoy.yaml", (s) => s.replace("            - --tls-client-auth=true\n", ""),
        /Deployment decoy: needs --tls-client-auth=true/],
      ["mtls/ledger.yaml", (s) => s.replace("key-encoding: PKCS8", "key-encoding: PKCS1"), /key-encoding: PKCS8/],
      ["base/ledger.yaml", (s) => s.replace("- --data-dir=/tmp/fortress", "- --data-dir=/tmp/fortress\n            - --new-flag=1"),
        /StatefulSet ledger: drops the base's --new-flag=1/],
      ["mtls/ledger.yaml", (s) => s.replace("- name: member-tokens\n", "- name: member-token\n"),
        /deletes volumes member-token, which the base does not have/],
      ["mtls/issuers.yaml", (s) => s.replace("isCA: true", "isCa: true"), /Certificate fortress-ca: .*isCa/],
    ];
    let failed = 0;
    for (const [file, edit, expected] of broken) {
      const copy = mkdtempSync(join(tmpdir(), "fortress-k8s-broken-"));
      cpSync(source, copy, { recursive: true });
      const before = readFileSync(join(copy, file), "utf8");
      writeFileSync(join(copy, file), edit(before));
      const { problems } = before === edit(before) ? { problems: [] } : await check(copy);
      rmSync(copy, { recursive: true, force: true });
      const caught = problems.some((p) => expected.test(p));
      console.log(`${caught ? "caught" : "MISSED"}: a broken ${file} (${expected})`);
      if (!caught) failed++;
    }
    process.exit(failed ? 1 : 0);
  }
  const dir = resolve(process.argv[2] ?? resolve(here, "../../deploy/k8s"));
  const { problems, documents } = await check(dir);
  if (problems.length) {
    console.error(`deploy/k8s: ${problems.length} problem(s) in ${documents} documents:`);
    for (const p of problems) console.error(`  - ${p}`);
    process.exit(1);
  }
  console.log(`deploy/k8s: ${documents} documents of ${BUILDS.map((b) => b.name).join(" and ")} valid `
    + "(schemas, no unknown fields, patches apply, Fortress rules)");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
