package fortress.bench;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import fortress.cluster.v1.RingNode;
import fortress.core.Settings;
import fortress.core.ring.Ring;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.SubmitBatchRequest;
import fortress.ledger.v1.TransferRequest;
import fortress.decoy.v1.GenerateRequest;
import fortress.decoy.v1.RecordKind;
import fortress.shadow.v1.DecideRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.function.BiPredicate;

/**
 * Writes the ghz configurations in {@code benchmarks/ghz/} for the local cluster's ring (ledger-1
 * to ledger-N; placement depends only on node ids), so that the same-node and cross-node transfer
 * scenarios really are what they say, and for the shadow server's Decide and the decoy server's
 * Generate. Each mutation gets a fresh request_id (and each Decide a fresh request_key) from
 * ghz's {@code newUUID} template function.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar fortress.bench.GhzConfigs [--out=benchmarks/ghz]</pre>
 */
public final class GhzConfigs {
  private static final String TENANT = "ghz";
  private static final String NEW_ID = "{{newUUID}}";

  private GhzConfigs() {}

  public static void main(String[] args) throws IOException {
    Settings s = new Settings(args, System.getenv());
    Path out = Path.of(s.string("out", "benchmarks/ghz", "folder to write the configurations to"));
    int nodes = s.integer("nodes", 3, 1, 64, "ledger nodes in the local cluster");
    int accounts = s.integer("accounts", 300, 2, 450, "accounts to open (two operations each, one SubmitBatch)");
    String host = s.string("host", "127.0.0.1:50051", "the shard proxy");
    String shadowHost = s.string("shadow-host", "127.0.0.1:50071", "the shadow server");
    String decoyHost = s.string("decoy-host", "127.0.0.1:50081", "the decoy server");
    Flags.finish(s, args);

    fortress.cluster.v1.Ring.Builder spec = fortress.cluster.v1.Ring.newBuilder().setEpoch(1);
    for (int i = 1; i <= nodes; i++) {
      spec.addNodes(RingNode.newBuilder().setNodeId("ledger-" + i).setAddress("127.0.0.1:" + (50060 + i)));
    }
    Ring ring = Ring.of(spec.build());
    Map<String, String> owner = new LinkedHashMap<>();
    SubmitBatchRequest.Builder setup = SubmitBatchRequest.newBuilder();
    for (int i = 0; i < accounts; i++) {
      String id = "ghz-" + i;
      owner.put(id, ring.owner(TENANT, id).getNodeId());
      setup.addOperations(BatchOperation.newBuilder().setCreateAccount(CreateAccountRequest.newBuilder()
          .setRequestId("ghz-create-" + i).setTenantId(TENANT).setAccountId(id)));
      setup.addOperations(BatchOperation.newBuilder().setDeposit(DepositRequest.newBuilder()
          .setRequestId("ghz-fund-" + i).setTenantId(TENANT).setAccountId(id).setAmount(1_000_000_000_000L)));
    }
    List<String> ids = new ArrayList<>(owner.keySet());
    Random random = new Random(1);
    List<TransferRequest> same = transfers(ids, random, 300, (a, b) -> owner.get(a).equals(owner.get(b)));
    List<TransferRequest> cross = nodes == 1 ? same
        : transfers(ids, random, 300, (a, b) -> !owner.get(a).equals(owner.get(b)));
    SubmitBatchRequest.Builder batch = SubmitBatchRequest.newBuilder();
    same.subList(0, 100).forEach(t -> batch.addOperations(BatchOperation.newBuilder().setTransfer(t)));

    Files.createDirectories(out);
    write(out, "setup.json", host, "fortress.ledger.v1.LedgerService/SubmitBatch", 1, "", "1",
        "[" + json(setup.build()) + "]");
    write(out, "health.json", host, "grpc.health.v1.Health/Check", 64, "10s", null, "[{}]");
    write(out, "get-account.json", host, "fortress.ledger.v1.LedgerService/GetAccount", 64, "10s", null,
        array(ids.stream().map(id -> (Message) GetAccountRequest.newBuilder().setTenantId(TENANT).setAccountId(id)
            .build()).toList()));
    write(out, "transfer-same-node.json", host, "fortress.ledger.v1.LedgerService/Transfer", 64, "10s", null,
        array(same));
    write(out, "transfer-cross-node.json", host, "fortress.ledger.v1.LedgerService/Transfer", 64, "10s", null,
        array(cross));
    write(out, "submit-batch-100.json", host, "fortress.ledger.v1.LedgerService/SubmitBatch", 8, "10s", null,
        "[" + json(batch.build()) + "]");
    Random traffic = new Random(2);
    List<Message> decides = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      decides.add(DecideRequest.newBuilder().setRequestKey(NEW_ID)
          .setAttributes(ShadowBench.attributes(new SplittableRandom(traffic.nextLong()), i % 10 == 0)).build());
    }
    write(out, "shadow-health.json", shadowHost, "grpc.health.v1.Health/Check", 64, "10s", null, "[{}]");
    write(out, "shadow-decide.json", shadowHost, "fortress.shadow.v1.ShadowService/Decide", 64, "10s", null,
        array(decides));
    write(out, "decoy-generate.json", decoyHost, "fortress.decoy.v1.DecoyService/Generate", 2, "10s", null,
        "[" + json(GenerateRequest.newBuilder().setKind(RecordKind.RECORD_KIND_TRANSACTION).setCount(100_000)
            .setSeed(1).setBatchSize(1_000).build()) + "]");
    System.out.println("wrote ghz configurations for " + nodes + " nodes and " + accounts + " accounts to " + out);
  }

  private static List<TransferRequest> transfers(List<String> ids, Random random, int count,
      BiPredicate<String, String> wanted) {
    List<TransferRequest> pairs = new ArrayList<>();
    while (pairs.size() < count) {
      String from = ids.get(random.nextInt(ids.size()));
      String to = ids.get(random.nextInt(ids.size()));
      if (!from.equals(to) && wanted.test(from, to)) {
        pairs.add(TransferRequest.newBuilder().setRequestId(NEW_ID).setTenantId(TENANT).setFromAccountId(from)
            .setToAccountId(to).setAmount(1).build());
      }
    }
    return pairs;
  }

  private static String array(List<? extends Message> messages) {
    List<String> items = new ArrayList<>();
    for (Message m : messages) {
      items.add(json(m));
    }
    return "[\n    " + String.join(",\n    ", items) + "\n  ]";
  }

  /**
   * The message as JSON with proto field names. Enough for these requests: strings, integers
   * (int64 as JSON strings, as the proto3 JSON mapping has them), nested and repeated messages.
   */
  private static String json(Message m) {
    List<String> fields = new ArrayList<>();
    for (Map.Entry<FieldDescriptor, Object> e : m.getAllFields().entrySet()) {
      fields.add("\"" + e.getKey().getName() + "\":" + value(e.getKey(), e.getValue()));
    }
    return "{" + String.join(",", fields) + "}";
  }

  private static String value(FieldDescriptor field, Object value) {
    if (field.isMapField()) {
      List<String> entries = new ArrayList<>();
      for (Object entry : (List<?>) value) {
        Message m = (Message) entry;
        var descriptor = m.getDescriptorForType();
        entries.add(single(String.valueOf(m.getField(descriptor.findFieldByName("key")))) + ":"
            + single(m.getField(descriptor.findFieldByName("value"))));
      }
      return "{" + String.join(",", entries) + "}";
    }
    if (!field.isRepeated()) {
      return single(value);
    }
    List<String> items = new ArrayList<>();
    for (Object item : (List<?>) value) {
      items.add(single(item));
    }
    return "[" + String.join(",", items) + "]";
  }

  private static String single(Object value) {
    if (value instanceof Message m) {
      return json(m);
    }
    if (value instanceof Long l) {
      return "\"" + l + "\"";
    }
    if (value instanceof com.google.protobuf.Descriptors.EnumValueDescriptor e) {
      return "\"" + e.getName() + "\"";
    }
    if (value instanceof Integer || value instanceof Boolean) {
      return String.valueOf(value);
    }
    if (value instanceof String s) {
      return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
    throw new IllegalArgumentException("no JSON form here for " + value.getClass());
  }

  private static void write(Path dir, String file, String host, String call, int concurrency, String duration,
      String total, String data) throws IOException {
    String length = total != null ? "\"total\": " + total : "\"duration\": \"" + duration + "\"";
    Files.writeString(dir.resolve(file), """
        {
          "call": "%s",
          "host": "%s",
          "insecure": true,
          "concurrency": %d,
          %s,
          "timeout": "30s",
          "data": %s
        }
        """.formatted(call, host, concurrency, length, data));
  }
}
