package fortress.ledger.write;

import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import fortress.ledger.v1.CaptureHoldResponse;
import fortress.ledger.v1.ConsumeResponse;
import fortress.ledger.v1.CreateAccountResponse;
import fortress.ledger.v1.CreateHoldResponse;
import fortress.ledger.v1.DepositResponse;
import fortress.ledger.v1.ReleaseHoldResponse;
import fortress.ledger.v1.TransferResponse;

/** The mutations. Codes equal the BatchOperation field numbers and are stored in idempotency rows. */
public enum OpKind {
  CREATE_ACCOUNT(1, CreateAccountResponse.parser()),
  DEPOSIT(2, DepositResponse.parser()),
  CONSUME(3, ConsumeResponse.parser()),
  TRANSFER(4, TransferResponse.parser()),
  CREATE_HOLD(5, CreateHoldResponse.parser()),
  CAPTURE_HOLD(6, CaptureHoldResponse.parser()),
  RELEASE_HOLD(7, ReleaseHoldResponse.parser());

  private final int code;
  private final Parser<? extends Message> responseParser;

  OpKind(int code, Parser<? extends Message> responseParser) {
    this.code = code;
    this.responseParser = responseParser;
  }

  public int code() {
    return code;
  }

  public Parser<? extends Message> responseParser() {
    return responseParser;
  }

  public static OpKind ofCode(int code) {
    for (OpKind k : values()) {
      if (k.code == code) {
        return k;
      }
    }
    throw new IllegalArgumentException("unknown operation code " + code);
  }
}
