package fortress.bench;

import fortress.core.rpc.RawBytes;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.Executor;

/**
 * The ceiling: a gRPC server on the same Netty transport and handler executor as a ledger node,
 * whose one unary method returns its request bytes. Whatever it cannot beat, the ledger cannot.
 */
final class EchoServer {
  static final MethodDescriptor<byte[], byte[]> ECHO = MethodDescriptor.<byte[], byte[]>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName("fortress.bench.Echo/Echo")
      .setRequestMarshaller(RawBytes.INSTANCE)
      .setResponseMarshaller(RawBytes.INSTANCE)
      .build();

  private EchoServer() {}

  static Server start(Executor executor) throws IOException {
    return start(0, executor);
  }

  static Server start(int port, Executor executor) throws IOException {
    ServerServiceDefinition service = ServerServiceDefinition.builder("fortress.bench.Echo")
        .addMethod(ECHO, ServerCalls.asyncUnaryCall((request, out) -> {
          out.onNext(request);
          out.onCompleted();
        }))
        .build();
    return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)).executor(executor)
        .addService(service).build().start();
  }
}
