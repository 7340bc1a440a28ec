package fortress.ledger.write;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The rows one writer batch reads, loaded in a few queries before any operation is applied.
 * Accounts are identity-mapped, so an account reached through a hold and by its key is one object.
 */
final class Snapshot {
  final Map<String, AccountRow> accountsByKey = new HashMap<>();
  final Map<Long, AccountRow> accountsById = new HashMap<>();
  final Map<String, HoldRow> holds = new HashMap<>();
  final Map<String, Batch.IdempotencyRecord> idempotency = new HashMap<>();
  final List<HoldRow> dueHolds = new ArrayList<>();
  final Map<String, CoordinatorRow> coordinators = new HashMap<>();
  /** Undecided transactions by the client's (tenant, request_id), so a retry joins its transaction. */
  final Map<String, CoordinatorRow> undecided = new HashMap<>();
  final Map<String, ParticipantRow> participants = new HashMap<>();

  /** Returns the hold already mapped for this id, or maps the given one. */
  HoldRow intern(HoldRow row) {
    HoldRow known = holds.putIfAbsent(row.holdId, row);
    return known != null ? known : row;
  }

  /** Returns the row already mapped for this id, or maps the given one. */
  AccountRow intern(AccountRow row) {
    AccountRow known = accountsById.putIfAbsent(row.id, row);
    if (known != null) {
      return known;
    }
    accountsByKey.put(AccountRow.key(row.tenantId, row.accountId), row);
    return row;
  }
}
