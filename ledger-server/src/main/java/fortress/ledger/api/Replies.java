package fortress.ledger.api;

import fortress.ledger.Rejection;
import fortress.ledger.v1.ErrorReason;
import fortress.ledger.write.Outcome;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.sql.SQLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Sending responses and errors, shared by the node's services. Nothing escapes as UNKNOWN. */
final class Replies {
  private static final Logger log = LoggerFactory.getLogger(Replies.class);

  private Replies() {}

  /** A read that may end in a rejection. */
  interface Read<T> {
    T run() throws SQLException, Refused;
  }

  /** Carries a rejection out of a read. */
  static final class Refused extends Exception {
    final Rejection rejection;

    Refused(Rejection rejection) {
      super(rejection.message(), null, false, false);
      this.rejection = rejection;
    }
  }

  static <T> void read(StreamObserver<T> out, Rejection invalid, Read<T> read) {
    if (invalid != null) {
      fail(out, invalid);
      return;
    }
    T response;
    try {
      response = read.run();
    } catch (Refused r) {
      fail(out, r.rejection);
      return;
    } catch (SQLException | RuntimeException e) {
      log.warn("read failed: {}", e.toString());
      fail(out, Rejection.of(ErrorReason.STORAGE_UNAVAILABLE, "the ledger database is unavailable; retry"));
      return;
    }
    send(out, response);
  }

  @SuppressWarnings("unchecked")
  static <T> void reply(Outcome outcome, StreamObserver<T> out) {
    if (outcome instanceof Outcome.Ok ok) {
      send(out, (T) ok.response());
    } else if (outcome instanceof Outcome.Failed failed) {
      fail(out, failed.rejection());
    }
  }

  static Outcome uncertain() {
    return Outcome.failed(Rejection.of(ErrorReason.OUTCOME_UNKNOWN,
        "the outcome is uncertain; resolve it with GetOperation"));
  }

  static <T> void send(StreamObserver<T> out, T response) {
    try {
      out.onNext(response);
      out.onCompleted();
    } catch (StatusRuntimeException e) {
      log.debug("call ended before its response was sent: {}", e.getStatus());
    }
  }

  static <T> void fail(StreamObserver<T> out, Rejection rejection) {
    try {
      out.onError(Statuses.toException(rejection));
    } catch (StatusRuntimeException e) {
      log.debug("call ended before its error was sent: {}", e.getStatus());
    }
  }
}
