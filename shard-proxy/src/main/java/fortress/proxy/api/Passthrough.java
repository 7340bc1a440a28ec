package fortress.proxy.api;

import static com.google.common.base.Preconditions.checkArgument;

import fortress.core.rpc.RawBytes;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.stub.ServerCalls;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Methods whose answer the proxy passes on as the bytes the node sent: the node's response is
 * neither parsed nor encoded again on its way to the client, only checked to be well-formed
 * protobuf ({@link RawBytes#WELL_FORMED}), so a garbled answer fails as the node's failure
 * (NODE_UNAVAILABLE naming the node), as a parsed one would. The request is still a message (the
 * guard checks its tenant, the proxy routes by its account).
 */
final class Passthrough {
  private Passthrough() {}

  /** The method with its request as a message and its response as the bytes on the wire, both ways. */
  static <Q, R> MethodDescriptor<Q, byte[]> raw(MethodDescriptor<Q, R> method) {
    return method.toBuilder(method.getRequestMarshaller(), RawBytes.WELL_FORMED).build();
  }

  /** A raw method served by {@code handler}. */
  static <Q> ServerMethodDefinition<Q, byte[]> serve(MethodDescriptor<Q, byte[]> method,
      ServerCalls.UnaryMethod<Q, byte[]> handler) {
    return ServerMethodDefinition.create(method, ServerCalls.asyncUnaryCall(handler));
  }

  /**
   * {@code typed} with each of {@code raw} in place of the method of the same name. The service
   * keeps its schema descriptor, so reflection still describes it.
   */
  static ServerServiceDefinition bind(ServerServiceDefinition typed, List<ServerMethodDefinition<?, ?>> raw) {
    Map<String, ServerMethodDefinition<?, ?>> byName = new LinkedHashMap<>();
    raw.forEach(m -> byName.put(m.getMethodDescriptor().getFullMethodName(), m));
    checkArgument(byName.size() == raw.size(), "a method is given twice: %s", byName.keySet());
    ServiceDescriptor original = typed.getServiceDescriptor();
    ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
        .setSchemaDescriptor(original.getSchemaDescriptor());
    List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
    for (ServerMethodDefinition<?, ?> m : typed.getMethods()) {
      ServerMethodDefinition<?, ?> replaced = byName.remove(m.getMethodDescriptor().getFullMethodName());
      ServerMethodDefinition<?, ?> chosen = replaced == null ? m : replaced;
      descriptor.addMethod(chosen.getMethodDescriptor());
      methods.add(chosen);
    }
    checkArgument(byName.isEmpty(), "not methods of %s: %s", original.getName(), byName.keySet());
    ServerServiceDefinition.Builder out = ServerServiceDefinition.builder(descriptor.build());
    methods.forEach(out::addMethod);
    return out.build();
  }
}
