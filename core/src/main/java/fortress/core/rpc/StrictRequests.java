package fortress.core.rpc;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes a request that does not parse (truncated bytes, a wrong wire type, a string field that
 * is not UTF-8) an INVALID_ARGUMENT naming the request type. Left alone, grpc-java answers such
 * bytes with UNKNOWN or INTERNAL, which tells the client nothing and reads as a server fault. The
 * marshaller turns a parse failure into no message, and the handler answers that. The service
 * keeps its schema descriptor, so reflection still describes it.
 */
public final class StrictRequests {
  private StrictRequests() {}

  public static ServerServiceDefinition of(ServerServiceDefinition service) {
    ServiceDescriptor original = service.getServiceDescriptor();
    ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
        .setSchemaDescriptor(original.getSchemaDescriptor());
    List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
    for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
      ServerMethodDefinition<?, ?> strict = strict(method);
      descriptor.addMethod(strict.getMethodDescriptor());
      methods.add(strict);
    }
    ServerServiceDefinition.Builder out = ServerServiceDefinition.builder(descriptor.build());
    methods.forEach(out::addMethod);
    return out.build();
  }

  private static <Q, R> ServerMethodDefinition<Q, R> strict(ServerMethodDefinition<Q, R> method) {
    MethodDescriptor<Q, R> md = method.getMethodDescriptor();
    MethodDescriptor.Marshaller<Q> marshaller = md.getRequestMarshaller();
    MethodDescriptor.Marshaller<Q> lenient = new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(Q value) {
        return marshaller.stream(value);
      }

      @Override
      public Q parse(InputStream stream) {
        try {
          return marshaller.parse(stream);
        } catch (StatusRuntimeException | IllegalArgumentException e) {
          return null;
        }
      }
    };
    String type = md.getFullMethodName().substring(md.getFullMethodName().lastIndexOf('/') + 1) + "Request";
    Status invalid = Status.INVALID_ARGUMENT.withDescription("the request is not a valid " + type + ": it does "
        + "not parse as protobuf (truncated bytes, a wrong wire type or a string that is not UTF-8)");
    ServerCallHandler<Q, R> handler = method.getServerCallHandler();
    ServerCallHandler<Q, R> checked = (call, headers) -> new ForwardingServerCallListener
        .SimpleForwardingServerCallListener<Q>(handler.startCall(call, headers)) {
      private boolean refused;

      @Override
      public void onMessage(Q message) {
        if (message == null) {
          if (!refused) {
            refused = true;
            call.close(invalid, new Metadata());
          }
          return;
        }
        if (!refused) {
          super.onMessage(message);
        }
      }

      @Override
      public void onHalfClose() {
        if (!refused) {
          super.onHalfClose();
        }
      }
    };
    return ServerMethodDefinition.create(md.toBuilder().setRequestMarshaller(lenient).build(), checked);
  }
}
