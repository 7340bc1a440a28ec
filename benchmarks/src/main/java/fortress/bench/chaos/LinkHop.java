package fortress.bench.chaos;

import fortress.core.rpc.RawBytes;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Deadline;
import fortress.core.security.Guard;
import io.grpc.HandlerRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * A hop in front of one ledger node that the other nodes reach it through (their
 * {@code --peer-addresses}), forwarding each unary call unchanged, headers included, except for the
 * faults it is told to inject: a lost request (never forwarded: the caller waits out its deadline),
 * a lost answer (forwarded, acted on, the answer dropped), a late request or answer, and calls of a
 * method dropped outright. The shard proxy and clients reach the node directly.
 */
final class LinkHop implements AutoCloseable {
  /** What the hop does to calls while a fault lasts. */
  record Fault(double lossRate, long delayMsMax, long untilMillis) {
    static final Fault NONE = new Fault(0, 0, 0);
  }

  /** The credentials a node presents to another: its node token (and any bearer token). */
  private static final List<Metadata.Key<String>> CREDENTIALS = List.of(Guard.NODE_TOKEN, Guard.AUTHORIZATION);

  private final Supplier<String> target;
  private final Server server;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "link-hop-timer");
    t.setDaemon(true);
    return t;
  });
  private final Random random;
  private volatile ManagedChannel channel;
  private volatile String channelTarget;
  private volatile Fault fault = Fault.NONE;
  private final Set<String> droppedMethods = ConcurrentHashMap.newKeySet();
  private final AtomicLong lost = new AtomicLong();
  private final AtomicLong delayed = new AtomicLong();

  /** A hop on {@code host:port} (0: a free port) to the node at {@code target} (read at each new connection). */
  LinkHop(String host, int port, Supplier<String> target, long seed) throws IOException {
    this.target = target;
    this.random = new Random(seed);
    this.server = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
        .fallbackHandlerRegistry(new Forwarding()).build().start();
  }

  int port() {
    return server.getPort();
  }

  /** Injects {@code f} until its end time. */
  void inject(Fault f) {
    fault = f;
  }

  /** Drops every call of a method (by its bare name, e.g. "Commit") until {@link #heal}. */
  void drop(String method) {
    droppedMethods.add(method);
  }

  void heal() {
    fault = Fault.NONE;
    droppedMethods.clear();
  }

  long lost() {
    return lost.get();
  }

  long delayed() {
    return delayed.get();
  }

  private synchronized ManagedChannel channel() {
    String t = target.get();
    if (channel == null || !t.equals(channelTarget)) {
      if (channel != null) {
        channel.shutdown();
      }
      channel = NettyChannelBuilder.forTarget(t).usePlaintext().build();
      channelTarget = t;
    }
    return channel;
  }

  private boolean lose() {
    Fault f = fault;
    if (System.currentTimeMillis() < f.untilMillis() && random.nextDouble() < f.lossRate()) {
      lost.incrementAndGet();
      return true;
    }
    return false;
  }

  private long delayMs() {
    Fault f = fault;
    if (System.currentTimeMillis() < f.untilMillis() && f.delayMsMax() > 0 && random.nextBoolean()) {
      delayed.incrementAndGet();
      return (long) (random.nextDouble() * f.delayMsMax());
    }
    return 0;
  }

  /** Forwards any method as raw bytes. */
  private final class Forwarding extends HandlerRegistry {
    @Override
    public ServerMethodDefinition<?, ?> lookupMethod(String methodName, String authority) {
      MethodDescriptor<byte[], byte[]> method = MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName(methodName)
          .setRequestMarshaller(RawBytes.INSTANCE).setResponseMarshaller(RawBytes.INSTANCE).build();
      return ServerMethodDefinition.create(method, new Call(method));
    }
  }

  /** One forwarded call. */
  private final class Call implements ServerCallHandler<byte[], byte[]> {
    private final MethodDescriptor<byte[], byte[]> method;

    Call(MethodDescriptor<byte[], byte[]> method) {
      this.method = method;
    }

    @Override
    public ServerCall.Listener<byte[]> startCall(ServerCall<byte[], byte[]> call, Metadata headers) {
      call.request(1);
      Metadata credentials = new Metadata();
      for (Metadata.Key<String> key : CREDENTIALS) {
        String value = headers.get(key);
        if (value != null) {
          credentials.put(key, value);
        }
      }
      Deadline deadline = Context.current().getDeadline();
      return new ServerCall.Listener<>() {
        private byte[] request;

        @Override
        public void onMessage(byte[] message) {
          request = message;
        }

        @Override
        public void onHalfClose() {
          if (droppedMethods.contains(method.getBareMethodName()) || lose()) {
            return; // lost on the way there: the caller waits out its deadline
          }
          timer.schedule(() -> forward(call, credentials, deadline, request), delayMs(), TimeUnit.MILLISECONDS);
        }
      };
    }

    private void forward(ServerCall<byte[], byte[]> call, Metadata credentials, Deadline deadline, byte[] request) {
      Metadata out = new Metadata();
      out.merge(credentials);
      // As the nodes' own calls do, wait for a node that is restarting rather than fail at once.
      CallOptions options = CallOptions.DEFAULT.withWaitForReady();
      ClientCall<byte[], byte[]> next = channel().newCall(method, deadline != null
          ? options.withDeadline(deadline) : options.withDeadlineAfter(60, TimeUnit.SECONDS));
      next.start(new ClientCall.Listener<>() {
        private byte[] response;

        @Override
        public void onMessage(byte[] message) {
          response = message;
        }

        @Override
        public void onClose(Status status, Metadata trailers) {
          if (lose()) {
            return; // acted on, but the answer is lost on the way back
          }
          timer.schedule(() -> answer(call, status, response, trailers), delayMs(), TimeUnit.MILLISECONDS);
        }
      }, out);
      next.request(1);
      next.sendMessage(request);
      next.halfClose();
    }

    private void answer(ServerCall<byte[], byte[]> call, Status status, byte[] response, Metadata trailers) {
      try {
        if (status.isOk() && response != null) {
          call.sendHeaders(new Metadata());
          call.sendMessage(response);
        }
        call.close(status, trailers);
      } catch (IllegalStateException cancelled) {
        // the caller gave up meanwhile
      }
    }
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    timer.shutdownNow();
    if (channel != null) {
      channel.shutdownNow();
    }
  }
}
