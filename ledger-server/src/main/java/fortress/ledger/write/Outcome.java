package fortress.ledger.write;

import com.google.protobuf.Message;
import fortress.ledger.Rejection;

/** What one operation came to: its response, or why it did not take effect. */
public sealed interface Outcome {
  record Ok(Message response) implements Outcome {}

  record Failed(Rejection rejection) implements Outcome {}

  static Outcome ok(Message response) {
    return new Ok(response);
  }

  static Outcome failed(Rejection rejection) {
    return new Failed(rejection);
  }
}
