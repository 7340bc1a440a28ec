package fortress.ledger;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fault injection on the channels between the ledger nodes of a {@link TestCluster}: a call from
 * one node to another on a dropped method never reaches its target, and the caller sees
 * UNAVAILABLE, as a lost message on a broken link would show. Counts what it dropped.
 */
public final class Links {
  private final Set<String> dropped = ConcurrentHashMap.newKeySet();
  private final AtomicLong drops = new AtomicLong();

  /** Drops every call of {@code method} (e.g. "Commit") from {@code from} to {@code to} until {@link #heal}. */
  public void drop(String from, String to, String method) {
    dropped.add(key(from, to, method));
  }

  /** Delivers everything again. */
  public void heal() {
    dropped.clear();
  }

  /** Calls dropped so far. */
  public long drops() {
    return drops.get();
  }

  /** The interceptor for the channel {@code from} uses to reach {@code to}. */
  ClientInterceptor between(String from, String to) {
    return new ClientInterceptor() {
      @Override
      public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        if (!dropped.contains(key(from, to, method.getBareMethodName()))) {
          return next.newCall(method, options);
        }
        drops.incrementAndGet();
        return new ClientCall<>() {
          @Override
          public void start(Listener<R> listener, Metadata headers) {
            listener.onClose(Status.UNAVAILABLE.withDescription("dropped by the test's link"), new Metadata());
          }

          @Override
          public void request(int n) {}

          @Override
          public void cancel(String message, Throwable cause) {}

          @Override
          public void halfClose() {}

          @Override
          public void sendMessage(Q message) {}
        };
      }
    };
  }

  private static String key(String from, String to, String method) {
    return from + ">" + to + ":" + method;
  }
}
