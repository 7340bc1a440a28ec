package fortress.bench.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Message;
import com.google.protobuf.WireFormat;
import fortress.cluster.v1.ClusterServiceGrpc;
import fortress.cluster.v1.GetClusterTotalsRequest;
import fortress.cluster.v1.GetClusterTotalsResponse;
import fortress.core.rpc.RawBytes;
import fortress.decoy.v1.DecoyServiceGrpc;
import fortress.ledger.v1.LedgerServiceGrpc;
import fortress.local.LocalCluster;
import fortress.shadow.v1.ShadowServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.ProtoServiceDescriptorSupplier;
import io.grpc.stub.ClientCalls;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A fuzz campaign over every public RPC of the four services (LedgerService and ClusterService
 * through the proxy, ShadowService, DecoyService) on the real local cluster. Requests are built
 * from the contracts' descriptors with random and edge-case values: empty and huge strings,
 * unicode and control characters, plausible ids (so calls reach deep validation), extreme
 * numbers, unknown enum values, and, at the byte level, strings that are not UTF-8 and truncated
 * messages. Every answer must be a deliberate one: never UNKNOWN or INTERNAL, no stack trace or
 * internal detail in the message; and a refused ledger call must leave the cluster's totals as
 * they were. The campaign is seeded; a failure names the seed, method and request.
 */
class ApiFuzzTest {
  private static final long SEED = Long.getLong("fuzz.seed", 20261121L);
  private static final int TRIES_PER_METHOD = Integer.getInteger("fuzz.tries", 30);
  private static final List<String> LEAKS = List.of("Exception", "\tat ", "java.", "org.postgresql", "SQLState",
      "netty", "NullPointer");

  private static Path dataDir;
  private static LocalCluster cluster;
  private static final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    dataDir = Files.createTempDirectory("fortress-fuzz");
    cluster = LocalCluster.start(new LocalCluster.Options(Path.of(System.getProperty("fortress.root", "..")), dataDir,
        3, "127.0.0.1", 0, 0, 0, 0, 0, "160m", false, false));
  }

  @AfterAll
  static void stop() throws Exception {
    channels.forEach(ManagedChannel::shutdownNow);
    if (cluster != null) {
      cluster.close();
    }
    try (Stream<Path> files = Files.walk(dataDir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static ManagedChannel channel(String name) {
    // An admin token for the tenant most fuzzed requests name; others are refused as another tenant's.
    ManagedChannel c = cluster.channel(name, cluster.token("fuzz", "fuzz", List.of("admin"), Duration.ofDays(1)));
    channels.add(c);
    return c;
  }

  private static ServiceDescriptor schema(io.grpc.ServiceDescriptor service) {
    return ((ProtoServiceDescriptorSupplier) service.getSchemaDescriptor()).getServiceDescriptor();
  }

  @Test
  void everyPublicRpc_answersEveryFuzzedRequestDeliberately_andRefusalsChangeNothing() throws Exception {
    ManagedChannel proxy = channel(LocalCluster.PROXY);
    ManagedChannel shadow = channel(LocalCluster.SHADOW);
    ManagedChannel decoy = channel(LocalCluster.DECOY);
    var totals = ClusterServiceGrpc.newBlockingStub(proxy);
    Map<ServiceDescriptor, ManagedChannel> targets = Map.of(
        schema(LedgerServiceGrpc.getServiceDescriptor()), proxy,
        schema(ClusterServiceGrpc.getServiceDescriptor()), proxy,
        schema(ShadowServiceGrpc.getServiceDescriptor()), shadow,
        schema(DecoyServiceGrpc.getServiceDescriptor()), decoy);
    List<String> failures = new ArrayList<>();
    long calls = 0;
    Map<Status.Code, Integer> codes = new java.util.TreeMap<>();
    for (Map.Entry<ServiceDescriptor, ManagedChannel> target : targets.entrySet()) {
      for (MethodDescriptor method : target.getKey().getMethods()) {
        Random random = new Random(SEED ^ method.getFullName().hashCode());
        boolean ledger = target.getKey().getName().equals("LedgerService");
        for (int i = 0; i < TRIES_PER_METHOD; i++) {
          byte[] request = request(random, method.getInputType());
          GetClusterTotalsResponse before = ledger ? totals.getClusterTotals(GetClusterTotalsRequest
              .getDefaultInstance()) : null;
          Status status = send(target.getValue(), method, request);
          calls++;
          codes.merge(status.getCode(), 1, Integer::sum);
          String what = method.getFullName() + " try " + i + " (seed " + SEED + ")";
          if (status.getCode() == Status.Code.UNKNOWN || status.getCode() == Status.Code.INTERNAL) {
            failures.add(what + ": " + status);
          } else if (status.getCode() == Status.Code.UNAVAILABLE || status.getCode() == Status.Code.RESOURCE_EXHAUSTED) {
            System.out.println("fuzz: " + what + " answered " + status);
          }
          String description = String.valueOf(status.getDescription());
          for (String leak : LEAKS) {
            if (description.contains(leak)) {
              failures.add(what + " leaks '" + leak + "': " + status);
            }
          }
          if (ledger && !status.isOk() && status.getCode() != Status.Code.DEADLINE_EXCEEDED
              && status.getCode() != Status.Code.UNAVAILABLE) {
            GetClusterTotalsResponse after = totals.getClusterTotals(GetClusterTotalsRequest.getDefaultInstance());
            if (after.getBalance() != before.getBalance() || after.getDeposited() != before.getDeposited()
                || after.getConsumed() != before.getConsumed()) {
              failures.add(what + ": refused with " + status.getCode() + " but the totals changed");
            }
          }
        }
      }
    }
    System.out.printf("fuzz: %d calls, status codes %s%n", calls, codes);
    assertThat(failures).as("%d calls", calls).isEmpty();
    assertThat(codes).as("the campaign reached past validation").containsKey(Status.Code.OK)
        .containsKey(Status.Code.INVALID_ARGUMENT);
  }

  private static Status send(ManagedChannel channel, MethodDescriptor method, byte[] request) {
    io.grpc.MethodDescriptor<byte[], byte[]> raw = io.grpc.MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(method.isServerStreaming() ? io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING
            : io.grpc.MethodDescriptor.MethodType.UNARY)
        .setFullMethodName(io.grpc.MethodDescriptor.generateFullMethodName(method.getService().getFullName(),
            method.getName()))
        .setRequestMarshaller(RawBytes.INSTANCE)
        .setResponseMarshaller(RawBytes.INSTANCE)
        .build();
    CallOptions options = CallOptions.DEFAULT.withDeadlineAfter(20, TimeUnit.SECONDS);
    Context.CancellableContext context = Context.current().withCancellation();
    try {
      return context.call(() -> {
        if (method.isServerStreaming()) {
          Iterator<byte[]> it = ClientCalls.blockingServerStreamingCall(channel, raw, options, request);
          for (int i = 0; i < 3 && it.hasNext(); i++) {
            it.next();
          }
        } else {
          ClientCalls.blockingUnaryCall(channel, raw, options, request);
        }
        return Status.OK;
      });
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    } catch (Exception e) {
      return Status.fromThrowable(e);
    } finally {
      context.cancel(null);
    }
  }

  /** A request of {@code type}: random fields, then sometimes a string that is not UTF-8, or a cut. */
  static byte[] request(Random random, Descriptor type) throws IOException {
    byte[] bytes = message(random, type, 0).toByteArray();
    int u = random.nextInt(20);
    if (u == 0 && bytes.length > 1) {
      byte[] cut = new byte[bytes.length - 1];
      System.arraycopy(bytes, 0, cut, 0, cut.length);
      return cut;
    }
    List<FieldDescriptor> strings = type.getFields().stream()
        .filter(f -> f.getType() == FieldDescriptor.Type.STRING && !f.isRepeated()).toList();
    if (u < 3 && !strings.isEmpty()) {
      FieldDescriptor f = strings.get(random.nextInt(strings.size()));
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      out.write(bytes);
      CodedOutputStream coded = CodedOutputStream.newInstance(out);
      coded.writeTag(f.getNumber(), WireFormat.WIRETYPE_LENGTH_DELIMITED);
      coded.writeBytesNoTag(ByteString.copyFrom(new byte[] {'a', (byte) 0xC3, 0x28, (byte) 0xFF}));
      coded.flush();
      return out.toByteArray();
    }
    return bytes;
  }

  private static Message message(Random random, Descriptor type, int depth) {
    DynamicMessage.Builder b = DynamicMessage.newBuilder(type);
    for (FieldDescriptor f : type.getFields()) {
      if (f.getRealContainingOneof() != null && b.hasOneof(f.getRealContainingOneof())) {
        continue;
      }
      if (random.nextInt(10) < 3) {
        continue;
      }
      if (f.isMapField()) {
        int n = random.nextInt(4);
        for (int i = 0; i < n; i++) {
          Descriptor entry = f.getMessageType();
          b.addRepeatedField(f, DynamicMessage.newBuilder(entry)
              .setField(entry.findFieldByName("key"), value(random, entry.findFieldByName("key"), depth))
              .setField(entry.findFieldByName("value"), value(random, entry.findFieldByName("value"), depth))
              .build());
        }
      } else if (f.isRepeated()) {
        int n = random.nextInt(50) == 0 ? 1_500 : random.nextInt(4);
        for (int i = 0; i < n; i++) {
          Object v = value(random, f, depth);
          if (v != null) {
            b.addRepeatedField(f, v);
          }
        }
      } else {
        Object v = value(random, f, depth);
        if (v != null) {
          b.setField(f, v);
        }
      }
    }
    return b.build();
  }

  private static Object value(Random random, FieldDescriptor f, int depth) {
    return switch (f.getJavaType()) {
      case STRING -> string(random, f.getName());
      case LONG -> longValue(random);
      case INT -> (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, longValue(random)));
      case DOUBLE -> new double[] {0, -1, 0.5, 1e308, Double.NaN, Double.POSITIVE_INFINITY}[random.nextInt(6)];
      case FLOAT -> new float[] {0, -1, 0.5f, Float.NaN}[random.nextInt(4)];
      case BOOLEAN -> random.nextBoolean();
      case BYTE_STRING -> ByteString.copyFrom(new byte[random.nextInt(64)]);
      case ENUM -> enumValue(random, f.getEnumType());
      case MESSAGE -> depth >= 3 ? null : message(random, f.getMessageType(), depth + 1);
    };
  }

  private static Object enumValue(Random random, EnumDescriptor type) {
    if (random.nextInt(5) == 0) {
      return type.findValueByNumberCreatingIfUnknown(99 + random.nextInt(1000));
    }
    return type.getValues().get(random.nextInt(type.getValues().size()));
  }

  private static long longValue(Random random) {
    long[] edges = {0, 1, -1, 2, 100, 1_000_000_000_000_000L, 1_000_000_000_000_001L, Long.MAX_VALUE,
        Long.MIN_VALUE, Integer.MAX_VALUE, Integer.MIN_VALUE};
    return random.nextBoolean() ? edges[random.nextInt(edges.length)] : random.nextInt(2_000) - 100;
  }

  /** Edge cases half the time; otherwise a value plausible for the field, so calls get past the first checks. */
  private static String string(Random random, String field) {
    switch (random.nextInt(12)) {
      case 0:
        return "";
      case 1:
        return "x".repeat(100_000);
      case 2:
        return "Ünïcødé 😀 \u0000 \u202e \uFFFF";
      case 3:
        return "../../etc/passwd";
      case 4:
        return "' OR 1=1; DROP TABLE accounts; --";
      case 5:
        return "%s%n{{profile.name}}${jndi:ldap://x/a}";
      default:
        break;
    }
    if (field.contains("request_id") || field.contains("decision_id")) {
      return UUID.randomUUID().toString();
    }
    if (field.contains("tenant")) {
      return "fuzz";
    }
    if (field.contains("account")) {
      return "acct-" + random.nextInt(3);
    }
    if (field.equals("expression")) {
      return new String[] {"true", "path == '/x'", "1 +", "headers.exists(k, headers.exists(j, k + j == 'ab'))",
          "path.matches('[')"}[random.nextInt(5)];
    }
    if (field.equals("path_pattern")) {
      return new String[] {"/f/{id}", "/", "/a/{x}/{x}"}[random.nextInt(3)];
    }
    if (field.equals("method")) {
      return new String[] {"GET", "POST", "BREW"}[random.nextInt(3)];
    }
    if (field.equals("body") || field.equals("corpus")) {
      return "The fuzz template says {{profile.name}} and {{path.id}}. It is a sentence of words. ".repeat(3);
    }
    if (field.equals("page_token")) {
      return "bm90LWEtdG9rZW4";
    }
    if (field.contains("_id") || field.equals("dataset") || field.equals("model") || field.equals("version")) {
      return "fuzz-" + random.nextInt(3);
    }
    return "v" + random.nextInt(1_000);
  }
}
