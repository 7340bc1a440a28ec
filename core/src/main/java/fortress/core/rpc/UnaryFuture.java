package fortress.core.rpc;

import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;

/** The response of a unary call made on an async stub, as a future. */
public final class UnaryFuture<T> extends CompletableFuture<T> implements StreamObserver<T> {
  @Override
  public void onNext(T value) {
    complete(value);
  }

  @Override
  public void onError(Throwable t) {
    completeExceptionally(t);
  }

  @Override
  public void onCompleted() {
    // A unary call's value arrived in onNext.
  }
}
