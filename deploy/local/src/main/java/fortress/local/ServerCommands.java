package fortress.local;

import fortress.cluster.v1.Ring;
import fortress.cluster.v1.RingNode;
import fortress.core.ring.RingFile;
import com.nimbusds.jose.jwk.ECKey;
import fortress.core.security.SecretFiles;
import fortress.core.security.Security;
import fortress.core.security.Tokens;
import fortress.core.store.LocalPostgres;
import fortress.ledger.DevKeys;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The command line of each server of a local cluster, in start order (the nodes, the proxy, the
 * shadow, the decoy): the java to run (the jar copies of {@link JarCopies}), its ports, database,
 * keys, TLS files and Prometheus endpoint. Every start and restart of a server uses its command.
 */
final class ServerCommands {
  private static final Duration SERVICE_TOKEN_TTL = Duration.ofDays(365);
  /** The role of the decoy's export token on the shadow server. */
  static final String DECOY_ROLE = "decoy";

  private final LocalCluster.Options options;
  private final PortPlan ports;
  private final Map<String, List<String>> jars;
  private final Path secrets;
  private final LocalCa ca;
  private final ECKey signingKey;
  private final Map<String, List<String>> commands = new LinkedHashMap<>();

  /**
   * {@code ca} is null without TLS; {@code secrets} holds the node token and the public half of
   * {@code signingKey}, which signs the service tokens this writes and never reaches a server.
   */
  ServerCommands(LocalCluster.Options options, PortPlan ports, Map<String, List<String>> jars, Path secrets,
      LocalCa ca, ECKey signingKey) {
    this.options = options;
    this.ports = ports;
    this.jars = jars;
    this.secrets = secrets;
    this.ca = ca;
    this.signingKey = signingKey;
  }

  /** Copies the jars of every server module {@code o} runs into {@code dataDir/bin}; each module's java arguments. */
  static Map<String, List<String>> copyJars(LocalCluster.Options o) throws IOException {
    JarCopies copies = new JarCopies(o.dataDir().resolve("bin"));
    List<String> modules = o.ledgerOnly() ? List.of("ledger-server", "shard-proxy")
        : List.of("ledger-server", "shard-proxy", "shadow-server", "decoy-server");
    Map<String, List<String>> arguments = new LinkedHashMap<>();
    for (String module : modules) {
      arguments.put(module, copies.runArguments(o.root().resolve(module + "/target/" + module + ".jar")));
    }
    copies.deleteUnused();
    return arguments;
  }

  /** Writes the ring file of the nodes' addresses, epoch 1. */
  static Path writeRing(LocalCluster.Options o, PortPlan ports) throws IOException {
    Ring.Builder ring = Ring.newBuilder().setEpoch(1);
    for (int i = 1; i <= o.nodes(); i++) {
      String nodeId = "ledger-" + i;
      ring.addNodes(RingNode.newBuilder().setNodeId(nodeId).setAddress(o.host() + ":" + ports.grpc(nodeId)));
    }
    Path ringFile = o.dataDir().resolve("ring.txtpb");
    RingFile.write(ringFile, ring.build());
    return ringFile;
  }

  /** Every server's command, by name in start order, with {@code extraFlags} for some servers at the end. */
  Map<String, List<String>> build(LocalPostgres postgres, Path ringFile, Map<String, List<String>> extraFlags)
      throws Exception {
    String host = options.host();
    Path jwksFile = Issuer.publicKeys(secrets);
    // Without TLS, each member (every node, and the proxy) has its own node token, and nodes know
    // them by their hashes; with TLS, by their certificates.
    List<String> members = new ArrayList<>();
    for (int i = 1; i <= options.nodes(); i++) {
      members.add("ledger-" + i);
    }
    members.add(Security.PROXY_NAME);
    Path memberHashes = ca == null ? writeMemberHashes(members) : null;
    for (int i = 1; i <= options.nodes(); i++) {
      String nodeId = "ledger-" + i;
      Path nodeDir = options.dataDir().resolve(nodeId);
      List<String> flags = new ArrayList<>(List.of("--node-id=" + nodeId, "--host=" + host,
          "--grpc-port=" + ports.grpc(nodeId), "--jdbc-url=" + postgres.ensureDatabase("ledger_" + i),
          "--ring-file=" + ringFile, "--data-dir=" + nodeDir, "--journal-key-file=" + DevKeys.file(nodeDir, "journal"),
          "--card-key-file=" + DevKeys.file(nodeDir, "card")));
      if (memberHashes != null) {
        flags.add("--node-token-file=" + memberTokenFile(secrets, nodeId));
        flags.add("--member-tokens-file=" + memberHashes);
      }
      add(nodeId, "ledger-server", flags);
    }
    List<String> proxyFlags = new ArrayList<>(List.of("--host=" + host,
        "--grpc-port=" + ports.grpc(LocalCluster.PROXY), "--ring-file=" + ringFile, "--auth-jwks-file=" + jwksFile));
    if (memberHashes != null) {
      proxyFlags.add("--node-token-file=" + memberTokenFile(secrets, Security.PROXY_NAME));
    }
    add(LocalCluster.PROXY, "shard-proxy", proxyFlags);
    if (!options.ledgerOnly()) {
      add(LocalCluster.SHADOW, "shadow-server", List.of("--host=" + host,
          "--grpc-port=" + ports.grpc(LocalCluster.SHADOW), "--jdbc-url=" + postgres.ensureDatabase("shadow"),
          "--data-dir=" + options.dataDir().resolve(LocalCluster.SHADOW), "--auth-jwks-file=" + jwksFile));
      // The decoy faces attackers: its own database, no ring, no keys; it reaches only the shadow server.
      add(LocalCluster.DECOY, "decoy-server", List.of("--host=" + host, "--grpc-port=" + ports.grpc(LocalCluster.DECOY),
          "--http-host=" + host, "--http-port=" + ports.decoyHttp(), "--jdbc-url=" + postgres.ensureDatabase("decoy"),
          "--data-dir=" + options.dataDir().resolve(LocalCluster.DECOY),
          "--shadow-target=" + host + ":" + ports.grpc(LocalCluster.SHADOW), "--auth-jwks-file=" + jwksFile,
          "--shadow-token-file=" + writeServiceToken(LocalCluster.DECOY)));
    }
    extraFlags.forEach((name, flags) -> {
      if (!commands.containsKey(name)) {
        throw new IllegalArgumentException("extra flags for " + name + ", which this cluster does not run");
      }
      commands.get(name).addAll(flags);
    });
    return commands;
  }

  /** A server's command: this JVM's java, the heap, the module's jar copies, its flags, TLS and metrics. */
  private void add(String name, String module, List<String> flags) throws Exception {
    // A server out of memory exits (and the supervisor restarts it) rather than lingering half-dead.
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
        "-Xmx" + options.javaHeap(), "-XX:+ExitOnOutOfMemoryError"));
    command.addAll(jars.get(module));
    command.addAll(flags);
    command.addAll(tlsFlags(name.equals(LocalCluster.PROXY) ? Security.PROXY_NAME : name));
    command.addAll(List.of("--metrics-host=" + options.host(), "--metrics-port=" + ports.metrics(name)));
    commands.put(name, command);
  }

  /** The TLS flags of one server under the throwaway CA: its own certificate, and mTLS both ways. */
  private List<String> tlsFlags(String certificateName) throws Exception {
    if (ca == null) {
      return List.of();
    }
    ca.issue(certificateName, options.host());
    return List.of("--tls-cert-file=" + ca.certFile(certificateName), "--tls-key-file=" + ca.keyFile(certificateName),
        "--tls-ca-file=" + ca.caFile(), "--tls-client-auth=true");
  }

  /** The file holding a cluster member's own node token, made on first use. */
  static Path memberTokenFile(Path secrets, String member) throws IOException {
    return DevKeys.file(secrets, "member-" + member);
  }

  /** Writes the file of every member's node-token hash, which ledger nodes verify members with. */
  private Path writeMemberHashes(List<String> members) throws IOException {
    StringBuilder lines = new StringBuilder("# <member> <sha256 of its node token>; written by the launcher\n");
    for (String member : members) {
      lines.append(member).append(' ').append(Security.memberTokenHash(DevKeys.loadOrCreate(secrets, "member-" + member)))
          .append('\n');
    }
    Path file = secrets.resolve("member-tokens.txt");
    Files.writeString(file, lines, StandardCharsets.US_ASCII);
    return file;
  }

  /**
   * The decoy's token for exporting to the shadow server, in a file: audience shadow only, and the
   * role {@value #DECOY_ROLE}, so its exports land in datasets marked as attacker-supplied.
   */
  private Path writeServiceToken(String name) throws IOException {
    Path file = secrets.resolve(name + ".jwt");
    SecretFiles.write(file, Tokens.sign(signingKey, name, null, List.of(DECOY_ROLE),
        List.of(Tokens.Policy.SHADOW.audience()), SERVICE_TOKEN_TTL));
    return file;
  }
}
