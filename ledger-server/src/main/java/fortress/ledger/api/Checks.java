package fortress.ledger.api;

import com.google.protobuf.Message;
import fortress.ledger.Rejection;
import fortress.ledger.card.CardVault;
import fortress.ledger.v1.BatchOperation;
import fortress.ledger.v1.CaptureHoldRequest;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.CreateHoldRequest;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.GetAccountRequest;
import fortress.ledger.v1.GetOperationRequest;
import fortress.ledger.v1.PaymentCard;
import fortress.ledger.v1.ReleaseHoldRequest;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.write.Op;
import fortress.shard.v1.PrepareRequest;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Input validation. Each method returns the first problem as INVALID_ARGUMENT naming the field
 * (prefixed with the operation's path inside a batch), or null when the request is well formed.
 */
final class Checks {
  static final long AMOUNT_MAX = 1_000_000_000_000_000L;
  static final int ID_LENGTH_MAX = 128;
  static final int TENANT_LENGTH_MAX = 64;
  static final int MEMO_LENGTH_MAX = 256;
  static final int HOLDER_NAME_LENGTH_MAX = 128;
  private static final Pattern TXID = Pattern.compile("tx-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  private static final Pattern NODE_ID = Pattern.compile("[a-z0-9-]{1,63}");
  private static final Pattern DIGITS = Pattern.compile("[0-9]{12,19}");

  private final long holdTimeoutSecondsMax;

  Checks(long holdTimeoutSecondsMax) {
    this.holdTimeoutSecondsMax = holdTimeoutSecondsMax;
  }

  /** Checks any mutation; {@code path} prefixes field names. */
  Rejection mutation(Message request, String path) {
    return mutation(request, new Field(path));
  }

  /**
   * Checks operation {@code index} of a SubmitBatch; field names are prefixed with its path, e.g.
   * {@code "operations[2].deposit."}, which is built only when there is a problem to name.
   */
  Rejection batchOperation(int index, BatchOperation.OperationCase operation, Message request) {
    return mutation(request, new Field(index, operation));
  }

  private Rejection mutation(Message request, Field f) {
    if (request instanceof CreateAccountRequest r) {
      return f.id("request_id", r.getRequestId()).tenant(r.getTenantId()).id("account_id", r.getAccountId()).first;
    } else if (request instanceof DepositRequest r) {
      f.id("request_id", r.getRequestId()).tenant(r.getTenantId()).id("account_id", r.getAccountId())
          .amount("amount", r.getAmount()).memo(r.getMemo());
      return r.hasCard() ? f.card(r.getCard()).first : f.first;
    } else if (request instanceof ConsumeRequest r) {
      return f.id("request_id", r.getRequestId()).tenant(r.getTenantId()).id("account_id", r.getAccountId())
          .amount("amount", r.getAmount()).memo(r.getMemo()).first;
    } else if (request instanceof TransferRequest r) {
      f.id("request_id", r.getRequestId()).tenant(r.getTenantId()).id("from_account_id", r.getFromAccountId())
          .id("to_account_id", r.getToAccountId()).amount("amount", r.getAmount()).memo(r.getMemo());
      if (!r.getToTenantId().isEmpty()) {
        f.identifier("to_tenant_id", r.getToTenantId(), TENANT_LENGTH_MAX);
      }
      if (f.first == null && r.getFromAccountId().equals(r.getToAccountId())
          && Op.creditTenant(r).equals(r.getTenantId())) {
        f.fail("to_account_id", "must differ from from_account_id");
      }
      return f.first;
    } else if (request instanceof CreateHoldRequest r) {
      f.id("request_id", r.getRequestId()).tenant(r.getTenantId()).id("account_id", r.getAccountId())
          .amount("amount", r.getAmount()).memo(r.getMemo());
      if (f.first == null && (r.getTimeoutSeconds() < 1 || r.getTimeoutSeconds() > holdTimeoutSecondsMax)) {
        f.fail("timeout_seconds", "must be from 1 to " + holdTimeoutSecondsMax);
      }
      return f.first;
    } else if (request instanceof CaptureHoldRequest r) {
      f.id("request_id", r.getRequestId()).tenant(r.getTenantId()).id("hold_id", r.getHoldId()).memo(r.getMemo());
      return r.hasAmount() ? f.amount("amount", r.getAmount()).first : f.first;
    } else if (request instanceof ReleaseHoldRequest r) {
      return f.id("request_id", r.getRequestId()).tenant(r.getTenantId()).id("hold_id", r.getHoldId())
          .memo(r.getMemo()).first;
    }
    throw new IllegalArgumentException("not a mutation: " + request.getDescriptorForType().getFullName());
  }

  Rejection getAccount(GetAccountRequest r) {
    Field f = new Field("").tenant(r.getTenantId()).id("account_id", r.getAccountId());
    if (f.first == null && r.hasAsOfSequence() && r.getAsOfSequence() < 1) {
      f.fail("as_of_sequence", "must be at least 1");
    }
    return f.first;
  }

  /**
   * The request_id and at most one scope: the account the mutation acted on, or the hold it named
   * (none: clients written before the scope, answered on any account).
   */
  Rejection getOperation(GetOperationRequest r) {
    Field f = new Field("").tenant(r.getTenantId()).id("request_id", r.getRequestId());
    if (!r.getHoldId().isEmpty() && !r.getAccountId().isEmpty()) {
      return f.fail("hold_id", "must be empty when account_id is set: give the account a mutation acted on, "
          + "or the hold a CaptureHold or ReleaseHold named").first;
    }
    if (!r.getAccountId().isEmpty()) {
      f.id("account_id", r.getAccountId());
    } else if (!r.getHoldId().isEmpty()) {
      f.id("hold_id", r.getHoldId());
    }
    return f.first;
  }

  /** The credit leg a coordinator asks this node to prepare. */
  Rejection prepare(PrepareRequest r) {
    Field f = new Field("").txid(r.getTxid());
    if (f.first == null && !NODE_ID.matcher(r.getCoordinatorNodeId()).matches()) {
      f.fail("coordinator_node_id", "must be 1-63 of [a-z0-9-]");
    }
    return f.tenant(r.getTenantId()).id("account_id", r.getAccountId()).amount("amount", r.getAmount())
        .id("request_id", r.getRequestId()).memo(r.getMemo()).first;
  }

  Rejection txid(String txid) {
    return new Field("").txid(txid).first;
  }

  Rejection account(String tenantId, String accountId) {
    return new Field("").tenant(tenantId).id("account_id", accountId).first;
  }

  /** True when {@code value} is made only of {@code [A-Za-z0-9._:-]}. */
  static boolean identifierCharacters(String value) {
    for (int i = 0; i < value.length(); i++) {
      char ch = value.charAt(i);
      boolean allowed = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
          || ch == '.' || ch == '_' || ch == ':' || ch == '-';
      if (!allowed) {
        return false;
      }
    }
    return true;
  }

  /** Accumulates the first failure; later checks are skipped once one has failed. */
  static final class Field {
    /** The prefix of field names, or null inside a batch, where it is built from the next two. */
    private final String path;
    private final int index;
    private final BatchOperation.OperationCase operation;
    Rejection first;

    Field(String path) {
      this.path = path;
      this.index = -1;
      this.operation = null;
    }

    Field(int index, BatchOperation.OperationCase operation) {
      this.path = null;
      this.index = index;
      this.operation = operation;
    }

    Field fail(String name, String problem) {
      if (first == null) {
        String prefix = path != null ? path
            : "operations[" + index + "]." + operation.name().toLowerCase(Locale.ROOT) + ".";
        first = Rejection.invalid(prefix + name, problem);
      }
      return this;
    }

    Field id(String name, String value) {
      return identifier(name, value, ID_LENGTH_MAX);
    }

    Field tenant(String value) {
      return identifier("tenant_id", value, TENANT_LENGTH_MAX);
    }

    Field identifier(String name, String value, int lengthMax) {
      if (value.isEmpty()) {
        return fail(name, "is required");
      }
      if (value.length() > lengthMax) {
        return fail(name, "must be at most " + lengthMax + " characters, not " + value.length());
      }
      if (!identifierCharacters(value)) {
        return fail(name, "may contain only letters, digits and . _ : -");
      }
      return this;
    }

    Field txid(String value) {
      if (!TXID.matcher(value).matches()) {
        return fail("txid", "must be tx- followed by a lower-case UUID");
      }
      return this;
    }

    Field amount(String name, long value) {
      if (value <= 0) {
        return fail(name, "must be greater than 0, not " + value);
      }
      if (value > AMOUNT_MAX) {
        return fail(name, "must be at most 10^15, not " + value);
      }
      return this;
    }

    Field memo(String value) {
      if (value.length() > MEMO_LENGTH_MAX) {
        return fail("memo", "must be at most " + MEMO_LENGTH_MAX + " characters, not " + value.length());
      }
      if (value.indexOf('\u0000') >= 0) {
        return fail("memo", "must not contain the NUL character (U+0000), which the journal cannot store");
      }
      return this;
    }

    Field card(PaymentCard card) {
      // Never echo the card number in a message.
      if (!DIGITS.matcher(card.getNumber()).matches()) {
        return fail("card.number", "must be 12 to 19 digits");
      }
      if (!CardVault.luhnValid(card.getNumber())) {
        return fail("card.number", "fails the Luhn check");
      }
      if (card.getExpiryMonth() < 1 || card.getExpiryMonth() > 12) {
        return fail("card.expiry_month", "must be from 1 to 12");
      }
      if (card.getExpiryYear() < 2000 || card.getExpiryYear() > 2099) {
        return fail("card.expiry_year", "must be a four-digit year from 2000 to 2099");
      }
      if (card.getHolderName().length() > HOLDER_NAME_LENGTH_MAX) {
        return fail("card.holder_name", "must be at most " + HOLDER_NAME_LENGTH_MAX + " characters");
      }
      return this;
    }
  }
}
