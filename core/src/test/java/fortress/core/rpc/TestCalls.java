package fortress.core.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/** What the servers' gRPC tests share: clean refusals, their ErrorInfo, and waiting for a condition. */
public final class TestCalls {
  private TestCalls() {}

  /** Runs a call that must be refused cleanly: no UNKNOWN, INTERNAL or stack trace. */
  public static StatusRuntimeException refused(Runnable call) {
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, call::run);
    assertThat(e).as("the call should be refused").isNotNull();
    assertThat(e.getStatus().getCode()).isNotIn(Status.Code.UNKNOWN, Status.Code.INTERNAL);
    assertThat(e.getStatus().getDescription()).doesNotContain("Exception").doesNotContain("\tat ");
    return e;
  }

  /** The ErrorInfo of a refused call. */
  public static ErrorInfo info(StatusRuntimeException e) {
    return StatusProto.fromThrowable(e).getDetailsList().stream().filter(d -> d.is(ErrorInfo.class))
        .map(d -> {
          try {
            return d.unpack(ErrorInfo.class);
          } catch (InvalidProtocolBufferException x) {
            throw new AssertionError(x);
          }
        }).findFirst().orElseThrow();
  }

  /** Polls every 20 ms until the condition holds; fails after {@code timeout}. */
  public static void await(BooleanSupplier condition, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within " + timeout);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
