package fortress.ledger.write;

import fortress.ledger.twopc.CoordinatorRow;
import fortress.ledger.twopc.ParticipantRow;
import fortress.shard.v1.TransactionState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The rows one writer batch reads, loaded before any operation is applied (see {@link LoadPlan}).
 * Accounts and holds are identity-mapped, so an account reached through a hold and by its key is
 * one object. Stores fill it through its {@code add} methods.
 */
public final class Snapshot {
  final Map<String, AccountRow> accountsByKey = new HashMap<>();
  final Map<Long, AccountRow> accountsById = new HashMap<>();
  final Map<String, HoldRow> holds = new HashMap<>();
  /** Idempotency records by (tenant, account, request_id). */
  final Map<String, Batch.IdempotencyRecord> idempotency = new HashMap<>();
  final List<HoldRow> dueHolds = new ArrayList<>();
  final Map<String, CoordinatorRow> coordinators = new HashMap<>();
  /** Undecided transactions by the client's (tenant, debited account, request_id). */
  final Map<String, CoordinatorRow> undecided = new HashMap<>();
  final Map<String, ParticipantRow> participants = new HashMap<>();

  /** Returns the row already mapped for this id, or maps the given one. */
  public AccountRow add(AccountRow row) {
    AccountRow known = accountsById.putIfAbsent(row.id, row);
    if (known != null) {
      return known;
    }
    accountsByKey.put(AccountRow.key(row.tenantId, row.accountId), row);
    return row;
  }

  /** Returns the hold already mapped for this id, or maps the given one; {@code due} holds the sweep may release. */
  public HoldRow add(HoldRow row, boolean due) {
    HoldRow known = holds.putIfAbsent(row.holdId, row);
    HoldRow mapped = known != null ? known : row;
    if (due) {
      dueHolds.add(mapped);
    }
    return mapped;
  }

  public void add(Batch.IdempotencyRecord record) {
    idempotency.put(AccountRow.requestKey(record.tenantId(), record.accountId(), record.requestId()), record);
  }

  public void add(CoordinatorRow row) {
    coordinators.put(row.txid, row);
    if (row.state() == TransactionState.TRANSACTION_STATE_PREPARING) {
      undecided.put(AccountRow.requestKey(row.tenantId, row.from.accountId, row.requestId), row);
    }
  }

  public void add(ParticipantRow row) {
    participants.put(row.txid, row);
  }
}
