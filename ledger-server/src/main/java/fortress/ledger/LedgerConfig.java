package fortress.ledger;

import static com.google.common.base.Preconditions.checkArgument;

import fortress.core.Settings;
import fortress.core.security.Security;
import fortress.core.telemetry.Telemetry;
import fortress.ledger.card.CardKeyring;
import fortress.ledger.twopc.Failpoints;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * Everything a ledger node needs, read once at start-up from flags or environment variables
 * and validated as a whole. Limits carry their unit in their name.
 *
 * <p>With no {@code jdbcUrl} the node starts an embedded PostgreSQL in {@code dataDir} with
 * durable settings, and keeps development keys there if none are given.
 */
public record LedgerConfig(
    String nodeId,
    String host,
    int grpcPort,
    String jdbcUrl,
    String jdbcUser,
    String jdbcPassword,
    Path dataDir,
    int readPoolSizeMax,
    int accountViewMax,
    int serverThreads,
    int writerBatchSizeMax,
    int writerQueueDepthMax,
    long writerTailMs,
    int batchOperationsMax,
    int pageSizeDefault,
    int pageSizeMax,
    long holdTimeoutSecondsMax,
    long holdSweepIntervalMs,
    int holdSweepBatchMax,
    long shutdownGraceMs,
    byte[] journalKey,
    String cardKeyId,
    byte[] cardKey,
    Map<String, byte[]> cardPreviousKeys,
    Path ringFile,
    long prepareTimeoutMs,
    long inDoubtTimeoutMs,
    long recoveryIntervalMs,
    int recoveryBatchMax,
    long inFlightBoundMs,
    Set<String> failpoints,
    Map<String, String> peerAddresses,
    Security security,
    Telemetry.Config telemetry,
    int journalVerifyThreads) {

  public static final String NODE_ID_DEFAULT = "ledger-1";
  public static final int GRPC_PORT_DEFAULT = 50061;
  public static final int METRICS_PORT_DEFAULT = 9465;
  public static final int READ_POOL_SIZE_MAX_DEFAULT = 8;
  /** Accounts the node keeps in its in-memory view: about 25 MB of heap. */
  public static final int ACCOUNT_VIEW_MAX_DEFAULT = 100_000;
  /** Heap one account in the view takes with short ids (measured: 253 bytes with 9- and 10-character ids). */
  public static final int ACCOUNT_VIEW_BYTES_PER_ACCOUNT = 256;
  public static final int SERVER_THREADS_DEFAULT = 8;
  public static final int WRITER_BATCH_SIZE_MAX_DEFAULT = 500;
  public static final int WRITER_QUEUE_DEPTH_MAX_DEFAULT = 20_000;
  public static final long WRITER_TAIL_MS_DEFAULT = 10;
  public static final int BATCH_OPERATIONS_MAX_DEFAULT = 1_000;
  public static final int PAGE_SIZE_DEFAULT = 100;
  public static final int PAGE_SIZE_MAX_DEFAULT = 1_000;
  public static final long HOLD_TIMEOUT_SECONDS_MAX_DEFAULT = 7 * 24 * 3600;
  public static final long HOLD_SWEEP_INTERVAL_MS_DEFAULT = 1_000;
  public static final int HOLD_SWEEP_BATCH_MAX_DEFAULT = 1_000;
  public static final long SHUTDOWN_GRACE_MS_DEFAULT = 10_000;
  public static final int KEY_BYTES = 32;
  public static final long PREPARE_TIMEOUT_MS_DEFAULT = 5_000;
  public static final long IN_DOUBT_TIMEOUT_MS_DEFAULT = 10_000;
  public static final long RECOVERY_INTERVAL_MS_DEFAULT = 1_000;
  public static final int RECOVERY_BATCH_MAX_DEFAULT = 1_000;
  public static final long IN_FLIGHT_BOUND_MS_DEFAULT = 60_000;
  public static final int JOURNAL_VERIFY_THREADS_DEFAULT = 2;

  public LedgerConfig {
    checkArgument(nodeId.matches("[a-z0-9-]{1,63}"), "nodeId must be 1-63 of [a-z0-9-]: %s", nodeId);
    checkArgument(writerBatchSizeMax <= writerQueueDepthMax,
        "writer-batch-size-max (%s) must not exceed writer-queue-depth-max (%s)", writerBatchSizeMax, writerQueueDepthMax);
    long viewBytes = (long) accountViewMax * ACCOUNT_VIEW_BYTES_PER_ACCOUNT;
    checkArgument(viewBytes <= Runtime.getRuntime().maxMemory() / 2,
        "account-view-max (%s) needs about %s MB of heap, more than half of this JVM's %s MB: lower it or raise -Xmx",
        accountViewMax, viewBytes >> 20, Runtime.getRuntime().maxMemory() >> 20);
    checkArgument(pageSizeDefault <= pageSizeMax,
        "page-size-default (%s) must not exceed page-size-max (%s)", pageSizeDefault, pageSizeMax);
    failpoints = Set.copyOf(failpoints);
    peerAddresses = Map.copyOf(peerAddresses);
    cardPreviousKeys = Map.copyOf(cardPreviousKeys);
    checkArgument(!cardPreviousKeys.containsKey(cardKeyId),
        "--card-previous-keys-file lists the current --card-key-id '%s': a rotated key needs a new id", cardKeyId);
    checkArgument(Failpoints.ALL.containsAll(failpoints), "failpoints must be among %s", Failpoints.ALL);
    checkArgument(batchOperationsMax <= writerQueueDepthMax,
        "batch-operations-max (%s) must not exceed writer-queue-depth-max (%s)", batchOperationsMax, writerQueueDepthMax);
    checkArgument(inFlightBoundMs > prepareTimeoutMs,
        "in-flight-bound-ms (%s) must exceed prepare-timeout-ms (%s): a commit is re-sent only after that long",
        inFlightBoundMs, prepareTimeoutMs);
  }

  public boolean embedded() {
    return jdbcUrl == null;
  }

  /** Reads the configuration; throws IllegalArgumentException listing every problem. */
  public static LedgerConfig parse(String[] args, Map<String, String> env) {
    return Settings.parse(args, env, LedgerConfig::read);
  }

  /** The --help text. */
  public static String usage() {
    return Settings.usage("Fortress ledger node.", LedgerConfig::read);
  }

  private static LedgerConfig read(Settings s) {
    String nodeId = s.string("node-id", NODE_ID_DEFAULT, "this node's name; also the default data folder");
    String host = s.string("host", "127.0.0.1", "address the gRPC server binds");
    int grpcPort = s.integer("grpc-port", GRPC_PORT_DEFAULT, 0, 65535, "gRPC port; 0 picks a free one");
    String jdbcUrl = s.string("jdbc-url", null, "PostgreSQL JDBC URL; unset starts an embedded PostgreSQL");
    String jdbcUser = s.string("jdbc-user", "postgres", "PostgreSQL user");
    String jdbcPassword = s.string("jdbc-password", "", "PostgreSQL password (prefer the environment)");
    Path dataDir = Path.of(s.string("data-dir", ".fortress/" + nodeId, "embedded PostgreSQL data and development keys"));
    int readPool = s.integer("read-pool-size-max", READ_POOL_SIZE_MAX_DEFAULT, 1, 256, "connections for reads");
    int accountViewMax = s.integer("account-view-max", ACCOUNT_VIEW_MAX_DEFAULT, 0, 100_000_000,
        "accounts whose committed state the node keeps in memory and serves GetAccount from (about 256 bytes "
            + "of heap each, at most half the heap; least recently used evicted; rebuilt from the database at "
            + "start); 0 turns it off");
    int serverThreads = s.integer("server-threads", SERVER_THREADS_DEFAULT, 1, 512, "threads running RPC handlers");
    int batchSize = s.integer("writer-batch-size-max", WRITER_BATCH_SIZE_MAX_DEFAULT, 1, 10_000,
        "operations the writer commits in one transaction");
    int queueDepth = s.integer("writer-queue-depth-max", WRITER_QUEUE_DEPTH_MAX_DEFAULT, 1, 1_000_000,
        "operations waiting for the writer before RESOURCE_EXHAUSTED");
    long tailMs = s.number("writer-tail-ms", WRITER_TAIL_MS_DEFAULT, 0, 1_000,
        "how long two-phase commit's tails (a participant's credit, a coordinator's DONE record), which no "
            + "client waits on, wait to ride in the node's next batch before they commit on their own; 0 "
            + "commits them at once");
    int batchOps = s.integer("batch-operations-max", BATCH_OPERATIONS_MAX_DEFAULT, 1, 10_000,
        "operations allowed in one SubmitBatch");
    int pageDefault = s.integer("page-size-default", PAGE_SIZE_DEFAULT, 1, 10_000, "ListEntries page size when 0 is asked");
    int pageMax = s.integer("page-size-max", PAGE_SIZE_MAX_DEFAULT, 1, 10_000, "largest ListEntries page");
    long holdMax = s.number("hold-timeout-seconds-max", HOLD_TIMEOUT_SECONDS_MAX_DEFAULT, 1, 366L * 24 * 3600,
        "longest hold timeout a request may ask for");
    long sweepMs = s.number("hold-sweep-interval-ms", HOLD_SWEEP_INTERVAL_MS_DEFAULT, 10, 3_600_000,
        "how often expired holds are released");
    int sweepMax = s.integer("hold-sweep-batch-max", HOLD_SWEEP_BATCH_MAX_DEFAULT, 1, 100_000,
        "expired holds released per sweep");
    long graceMs = s.number("shutdown-grace-ms", SHUTDOWN_GRACE_MS_DEFAULT, 0, 600_000,
        "how long shutdown waits for in-flight calls");
    byte[] journalKey = s.secret("journal-key", KEY_BYTES, "HMAC key for journal entries");
    String cardKeyId = s.string("card-key-id", "dev-1", "identifier stored with card ciphertexts");
    byte[] cardKey = s.secret("card-key", KEY_BYTES, "AES-256-GCM key for card data");
    String previousKeysFile = s.string("card-previous-keys-file", null, "card keys from before a rotation, which "
        + "only open stored cards: one '<key-id> <base64 of 32 bytes>' per line, # comments");
    Map<String, byte[]> cardPreviousKeys = Map.of();
    if (previousKeysFile != null) {
      try {
        cardPreviousKeys = CardKeyring.readPreviousKeys(Path.of(previousKeysFile));
      } catch (IllegalArgumentException e) {
        s.problem("--card-previous-keys-file: " + e.getMessage());
      }
      if (cardPreviousKeys.containsKey(cardKeyId)) {
        s.problem("--card-previous-keys-file=" + previousKeysFile + " lists the current --card-key-id '" + cardKeyId
            + "': a rotated key needs a new id");
        cardPreviousKeys = Map.of();
      }
    }
    if (jdbcUrl != null && (journalKey == null || cardKey == null)) {
      s.problem("with --jdbc-url, set FORTRESS_JOURNAL_KEY(_FILE) and FORTRESS_CARD_KEY(_FILE): "
          + "development keys are generated only for the embedded database");
    }
    String ring = s.string("ring-file", null,
        "the cluster's ring (fortress.cluster.v1.Ring in text format); unset: this node owns every account");
    long prepareMs = s.number("prepare-timeout-ms", PREPARE_TIMEOUT_MS_DEFAULT, 100, 600_000,
        "how long a coordinator waits for a participant's vote before aborting");
    long inDoubtMs = s.number("in-doubt-timeout-ms", IN_DOUBT_TIMEOUT_MS_DEFAULT, 100, 3_600_000,
        "how long a participant holds a prepared leg before asking the coordinator");
    long recoveryMs = s.number("recovery-interval-ms", RECOVERY_INTERVAL_MS_DEFAULT, 10, 600_000,
        "how often unfinished two-phase commits are recovered");
    int recoveryBatch = s.integer("recovery-batch-max", RECOVERY_BATCH_MAX_DEFAULT, 1, 100_000,
        "unfinished transactions of each kind (preparing, committed, prepared) one recovery round takes up");
    long inFlightMs = s.number("in-flight-bound-ms", IN_FLIGHT_BOUND_MS_DEFAULT, 1_000, 86_400_000,
        "how long a committed credit may take to reach its participant before it counts as overdue "
            + "(ListInDoubt, GetTotals, metrics) instead of in flight");
    String failpointList = s.string("failpoints", "", "for fault tests only: two-phase commit points where the "
        + "process halts, comma-separated, among " + String.join(",", new java.util.TreeSet<>(Failpoints.ALL)));
    Set<String> failpoints = new java.util.TreeSet<>();
    for (String f : failpointList.split(",")) {
      if (!f.isBlank()) {
        failpoints.add(f.trim());
      }
    }
    if (!Failpoints.ALL.containsAll(failpoints)) {
      s.problem("--failpoints may name only " + Failpoints.ALL);
      failpoints.clear();
    }
    Map<String, String> peerAddresses = new java.util.TreeMap<>();
    String peerList = s.string("peer-addresses", "", "where this node reaches other nodes when not at their ring "
        + "address, as node-id=host:port,... (a separate network, or a fault-injecting hop in tests)");
    for (String pair : peerList.split(",")) {
      if (pair.isBlank()) {
        continue;
      }
      String[] kv = pair.trim().split("=", 2);
      if (kv.length != 2 || !kv[0].matches("[a-z0-9-]{1,63}") || !kv[1].matches("[^\\s:]+:[0-9]{1,5}")) {
        s.problem("--peer-addresses must be node-id=host:port,...; '" + pair.trim() + "' is not");
      } else {
        peerAddresses.put(kv[0], kv[1]);
      }
    }
    Security security = Security.read(s, null, true).verifyingMembers(s);
    memberRules(s, security, nodeId);
    Telemetry.Config telemetry = Telemetry.Config.read(s, "fortress-ledger", nodeId, METRICS_PORT_DEFAULT);
    int verifyThreads = s.integer("journal-verify-threads", JOURNAL_VERIFY_THREADS_DEFAULT, 1, 16,
        "threads that check journal hashes and HMACs during VerifyJournal, shared by concurrent calls");
    if (!cardKeyId.matches("[A-Za-z0-9._-]{1,64}")) {
      s.problem("--card-key-id must be 1-64 of [A-Za-z0-9._-]");
    }
    try {
      return new LedgerConfig(nodeId, host, grpcPort, jdbcUrl, jdbcUser, jdbcPassword, dataDir, readPool,
          accountViewMax, serverThreads, batchSize, queueDepth, tailMs, batchOps, pageDefault, pageMax, holdMax, sweepMs,
          sweepMax, graceMs, journalKey, cardKeyId, cardKey, cardPreviousKeys, ring == null ? null : Path.of(ring),
          prepareMs, inDoubtMs, recoveryMs, recoveryBatch, inFlightMs, failpoints, peerAddresses, security, telemetry,
          verifyThreads);
    } catch (IllegalArgumentException e) {
      s.problem(e.getMessage());
      return null;
    }
  }

  /**
   * A node must tell cluster members apart, or bind no identity at all: two-phase commit accepts a
   * Prepare only from the node it names as coordinator, and Commit and Abort only from that node,
   * which a single token shared by every member cannot prove. So a node token without mTLS needs
   * --member-tokens-file, listing this node's own token under its id; without either, member calls
   * are unchecked (a local cluster on one machine only).
   */
  private static void memberRules(Settings s, Security security, String nodeId) {
    if (security.tls().clientCertRequired()) {
      return;
    }
    boolean listed = !security.memberTokens().isEmpty();
    if (security.nodeToken() != null && !listed) {
      s.problem("--node-token needs --" + Security.MEMBER_TOKENS_FLAG + " (or --tls-client-auth=true): a token "
          + "shared by every member cannot tell one node from another, so any holder could prepare and commit "
          + "another node's transfers; give each member its own token and list their hashes");
    }
    if (listed && security.nodeToken() == null) {
      s.problem("--" + Security.MEMBER_TOKENS_FLAG + " needs this node's own --node-token (or --node-token-file), "
          + "which it presents to the other nodes");
    }
    if (listed && security.nodeToken() != null) {
      String own = Security.memberTokenHash(security.nodeToken());
      boolean mine = security.memberTokens().stream().anyMatch(t -> t.name().equals(nodeId)
          && java.util.HexFormat.of().formatHex(t.sha256()).equals(own));
      if (!mine) {
        s.problem("--" + Security.MEMBER_TOKENS_FLAG + " must list this node's --node-token under its id: '"
            + nodeId + " " + own + "'");
      }
    }
  }

  /** A copy whose keys are set; used when development keys are generated. */
  public LedgerConfig withKeys(byte[] journal, byte[] card) {
    return new LedgerConfig(nodeId, host, grpcPort, jdbcUrl, jdbcUser, jdbcPassword, dataDir, readPoolSizeMax,
        accountViewMax, serverThreads, writerBatchSizeMax, writerQueueDepthMax, writerTailMs, batchOperationsMax,
        pageSizeDefault,
        pageSizeMax, holdTimeoutSecondsMax, holdSweepIntervalMs, holdSweepBatchMax, shutdownGraceMs, journal,
        cardKeyId, card,
        cardPreviousKeys, ringFile, prepareTimeoutMs, inDoubtTimeoutMs, recoveryIntervalMs, recoveryBatchMax,
        inFlightBoundMs, failpoints, peerAddresses, security, telemetry, journalVerifyThreads);
  }

  /** A copy pointing at a database; used by the embedded start-up path. */
  public LedgerConfig withJdbc(String url, String user, String password) {
    return new LedgerConfig(nodeId, host, grpcPort, url, user, password, dataDir, readPoolSizeMax,
        accountViewMax, serverThreads, writerBatchSizeMax, writerQueueDepthMax, writerTailMs, batchOperationsMax,
        pageSizeDefault,
        pageSizeMax, holdTimeoutSecondsMax, holdSweepIntervalMs, holdSweepBatchMax, shutdownGraceMs, journalKey,
        cardKeyId, cardKey,
        cardPreviousKeys, ringFile, prepareTimeoutMs, inDoubtTimeoutMs, recoveryIntervalMs, recoveryBatchMax,
        inFlightBoundMs, failpoints, peerAddresses, security, telemetry, journalVerifyThreads);
  }

  @Override
  public String toString() {
    // Keys and passwords never reach a log.
    return "LedgerConfig[nodeId=" + nodeId + ", host=" + host + ", grpcPort=" + grpcPort
        + ", database=" + (embedded() ? "embedded in " + dataDir : jdbcUrl.replaceAll("password=[^&]*", "password=***"))
        + ", writerBatchSizeMax=" + writerBatchSizeMax + ", writerQueueDepthMax=" + writerQueueDepthMax
        + ", writerTailMs=" + writerTailMs
        + ", readPoolSizeMax=" + readPoolSizeMax + ", accountViewMax=" + accountViewMax + ", ringFile=" + ringFile
        + ", " + security.describe() + (failpoints.isEmpty() ? "" : ", failpoints=" + failpoints)
        + (peerAddresses.isEmpty() ? "" : ", peerAddresses=" + peerAddresses) + "]";
  }
}
