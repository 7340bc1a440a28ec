package fortress.bench;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import fortress.core.Settings;
import io.grpc.CallOptions;
import io.grpc.Context;
import io.grpc.HandlerRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerMethodDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The baseline processes of the cluster benchmark. Without {@code --target} it serves the bare
 * echo. With {@code --target=host:port} it is a proxy hop with nothing to decide: it forwards every
 * call there as opaque bytes, with the shard proxy's transport, thread count and deadline
 * propagation, and relays the answer. Proxied echo is what the shard proxy cannot beat.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar fortress.bench.EchoHop --port=P [--target=HOST:PORT]</pre>
 */
public final class EchoHop {
  private EchoHop() {}

  public static void main(String[] args) throws Exception {
    Settings s = new Settings(args, System.getenv());
    int port = s.integer("port", 0, 0, 65535, "where to listen (0 picks a free port)");
    String target = s.string("target", "", "forward every call to this host:port; unset serves the echo");
    int threads = s.integer("server-threads", 4, 1, 256, "handler threads (the shard proxy's default)");
    int nodeThreads = s.integer("echo-threads", 8, 1, 256, "echo handler threads (a ledger node's default)");
    Flags.finish(s, args);

    ExecutorService executor = Executors.newFixedThreadPool(target.isEmpty() ? nodeThreads : threads,
        new ThreadFactoryBuilder().setNameFormat("hop-%d").setDaemon(true).build());
    Server server = target.isEmpty() ? EchoServer.start(port, executor) : forward(port, target, executor);
    System.out.println("serving on port " + server.getPort());
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
    server.awaitTermination();
  }

  private static Server forward(int port, String target, ExecutorService executor) throws java.io.IOException {
    ManagedChannel upstream = NettyChannelBuilder.forTarget(target).usePlaintext().executor(executor).build();
    HandlerRegistry forwarding = new HandlerRegistry() {
      @Override
      public ServerMethodDefinition<?, ?> lookupMethod(String method, String authority) {
        var descriptor = EchoServer.ECHO.toBuilder().setFullMethodName(method).build();
        return ServerMethodDefinition.create(descriptor, ServerCalls.asyncUnaryCall((request, reply) ->
            ClientCalls.asyncUnaryCall(upstream.newCall(descriptor,
                CallOptions.DEFAULT.withDeadline(Context.current().getDeadline())), request, relay(reply))));
      }
    };
    return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).executor(executor)
        .fallbackHandlerRegistry(forwarding).build().start();
  }

  private static StreamObserver<byte[]> relay(StreamObserver<byte[]> reply) {
    return new StreamObserver<>() {
      @Override
      public void onNext(byte[] value) {
        reply.onNext(value);
      }

      @Override
      public void onError(Throwable t) {
        reply.onError(t);
      }

      @Override
      public void onCompleted() {
        reply.onCompleted();
      }
    };
  }
}
