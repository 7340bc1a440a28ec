package fortress.client;

import fortress.core.rpc.RawBytes;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.HandlerRegistry;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerMethodDefinition;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A network hop between the client and the proxy that forwards every unary call unchanged, except
 * that it can be told to fail the next calls of a method: lose the response after the server acted
 * on the request, hang until the caller's deadline, or refuse before forwarding.
 */
final class FaultyLink implements AutoCloseable {
  enum Fault { LOSE_RESPONSE, HANG, REFUSE }

  private record Plan(Fault fault, AtomicInteger remaining) {}

  private final Channel target;
  private final Map<String, Plan> plans = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
  private final String name = "link-" + UUID.randomUUID();
  private final Server server;

  FaultyLink(Channel target) throws IOException {
    this.target = target;
    this.server = InProcessServerBuilder.forName(name).fallbackHandlerRegistry(new Forwarding()).build().start();
  }

  ManagedChannel connect() {
    return InProcessChannelBuilder.forName(name).build();
  }

  /** The next {@code times} calls of {@code method} suffer {@code fault}. */
  void failNext(MethodDescriptor<?, ?> method, Fault fault, int times) {
    plans.put(method.getFullMethodName(), new Plan(fault, new AtomicInteger(times)));
  }

  /** Calls of {@code method} that reached the link. */
  int calls(MethodDescriptor<?, ?> method) {
    return calls.computeIfAbsent(method.getFullMethodName(), k -> new AtomicInteger()).get();
  }

  void heal() {
    plans.clear();
  }

  @Override
  public void close() {
    server.shutdownNow();
  }

  private Fault faultFor(String method) {
    calls.computeIfAbsent(method, k -> new AtomicInteger()).incrementAndGet();
    Plan plan = plans.get(method);
    return plan != null && plan.remaining().getAndDecrement() > 0 ? plan.fault() : null;
  }

  private final class Forwarding extends HandlerRegistry {
    @Override
    public ServerMethodDefinition<?, ?> lookupMethod(String method, String authority) {
      MethodDescriptor<byte[], byte[]> descriptor = MethodDescriptor.newBuilder(RawBytes.INSTANCE, RawBytes.INSTANCE)
          .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName(method).build();
      return ServerMethodDefinition.create(descriptor, ServerCalls.asyncUnaryCall((request, reply) -> {
        Fault fault = faultFor(method);
        if (fault == Fault.REFUSE) {
          reply.onError(Status.UNAVAILABLE.withDescription("link refused the call").asRuntimeException());
          return;
        }
        CallOptions options = CallOptions.DEFAULT.withDeadline(Context.current().getDeadline());
        ClientCalls.asyncUnaryCall(target.newCall(descriptor, options), request, new StreamObserver<>() {
          @Override
          public void onNext(byte[] value) {
            if (fault == null) {
              reply.onNext(value);
            }
          }

          @Override
          public void onError(Throwable t) {
            if (fault == null) {
              reply.onError(t);
            } else {
              lose();
            }
          }

          @Override
          public void onCompleted() {
            if (fault == null) {
              reply.onCompleted();
            } else {
              lose();
            }
          }

          private void lose() {
            if (fault == Fault.LOSE_RESPONSE) {
              reply.onError(Status.UNAVAILABLE.withDescription("link lost the response").asRuntimeException());
            }
            // HANG: never answer; the caller's deadline ends the call.
          }
        });
      }));
    }
  }
}
