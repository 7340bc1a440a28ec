// Offline check of the Kubernetes manifests in deploy/k8s, in place of kubeconform:
//  1. every resource the kustomization lists exists, and every file its generators read exists
//     (or is one that deploy/k8s/make-secrets writes);
//  2. every document validates against the Kubernetes or CloudNativePG schema of its kind
//     (types, formats, required fields), from the kubernetes-models packages;
//  3. no document has a field its schema does not know: each is compiled by TypeScript against
//     the same models' types, whose excess-property check catches a misspelt or misplaced field;
//  4. Fortress's own rules: non-root read-only pods with every capability dropped, resources,
//     gRPC health probes and a PodDisruptionBudget for every workload, the ring matching the
//     StatefulSet, and a decoy that can reach nothing internal.
// Usage: node validate.mjs [dir]   (default: deploy/k8s). Exits 1 listing every problem.
// node validate.mjs --self-test checks that broken manifests are caught.
import { readFileSync, existsSync, mkdtempSync, mkdirSync, writeFileSync, cpSync, rmSync } from "node:fs";
import { join, dirname, resolve } from "node:path";
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
};

async function check(dir) {
  const problems = [];
  const kustomization = parse(readFileSync(join(dir, "kustomization.yaml"), "utf8"));
  const gitignore = existsSync(join(dir, ".gitignore")) ? readFileSync(join(dir, ".gitignore"), "utf8") : "";
  const made = (file) => gitignore.split("\n").some((line) => line.trim() && !line.startsWith("#")
    && new RegExp("^" + line.trim().replace(/\./g, "\\.").replace(/\*/g, ".*") + "$").test(file));
  for (const file of kustomization.resources ?? []) {
    if (!existsSync(join(dir, file))) problems.push(`kustomization: resource ${file} is missing`);
  }
  for (const gen of [...(kustomization.configMapGenerator ?? []), ...(kustomization.secretGenerator ?? [])]) {
    for (const file of [...(gen.files ?? []), ...(gen.envs ?? [])]) {
      const path = file.includes("=") ? file.split("=")[1] : file;
      if (!existsSync(join(dir, path)) && !(made(path) && existsSync(join(dir, "make-secrets")))) {
        problems.push(`kustomization: ${gen.name} reads ${path}, which is missing`);
      }
    }
  }

  const docs = [];
  for (const file of kustomization.resources ?? []) {
    if (!existsSync(join(dir, file))) continue;
    for (const d of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
      if (d.errors.length) {
        problems.push(`${file}: YAML: ${d.errors[0].message}`);
        continue;
      }
      const doc = d.toJS();
      if (doc) docs.push({ file, doc, where: `${file}: ${doc.kind ?? "?"} ${doc.metadata?.name ?? "?"}` });
    }
  }

  // 2. Schemas.
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

  // 3. Unknown fields, through TypeScript's excess-property check.
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
    for (const line of out.split("\n").filter((l) => l.includes("error TS"))) {
      const at = /manifests\.ts\((\d+),/.exec(line);
      const index = at ? Number(at[1]) - 1 - typed.length : -1;
      const name = index >= 0 && index < typed.length ? typed[index].where : "manifests";
      problems.push(`${name}: ${line.replace(/^.*error TS\d+: /, "")}`);
    }
    if (!problems.length) problems.push(`TypeScript check failed: ${out.slice(0, 500)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  // 4. Fortress's rules.
  const workloads = docs.filter(({ doc }) => doc.kind === "Deployment" || doc.kind === "StatefulSet");
  const budgets = docs.filter(({ doc }) => doc.kind === "PodDisruptionBudget").map(({ doc }) => doc);
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
    }
    const covered = budgets.some((b) => Object.entries(b.spec?.selector?.matchLabels ?? {})
      .every(([k, v]) => labels[k] === v) && Object.keys(b.spec?.selector?.matchLabels ?? {}).length);
    if (!covered) problems.push(`${where}: no PodDisruptionBudget selects its pods`);
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
  return { problems, documents: docs.length };
}

async function main() {
  if (process.argv[2] === "--self-test") {
    const source = resolve(here, "../../deploy/k8s");
    const broken = [
      ["proxy.yaml", (s) => s.replace("image: fortress/shard-proxy", "image: fortress/shard-proxy\n          replicas: 2"),
        /Deployment proxy: .*replicas/],
      ["ledger.yaml", (s) => s.replace("replicas: 3", "replicas: three"), /StatefulSet ledger: .*replicas/],
      ["postgres.yaml", (s) => s.replace("minSyncReplicas: 1", "minSyncReplica: 1"), /minSyncReplica/],
      ["network-policies.yaml", (s) => s.replace("cnpg.io/cluster: decoy-pg", "cnpg.io/cluster: ledger-0-pg"), /decoy egress/],
    ];
    let failed = 0;
    for (const [file, edit, expected] of broken) {
      const copy = mkdtempSync(join(tmpdir(), "fortress-k8s-broken-"));
      cpSync(source, copy, { recursive: true });
      writeFileSync(join(copy, file), edit(readFileSync(join(copy, file), "utf8")));
      const { problems } = await check(copy);
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
  console.log(`deploy/k8s: ${documents} documents valid (schemas, no unknown fields, Fortress rules)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
