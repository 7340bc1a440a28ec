package fortress.ledger.write;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The rows a writer batch reads, named by key before anything is loaded, so every store loads
 * exactly the same rows: the operations' accounts (less those the writer takes from its
 * {@link AccountView}), holds, transactions, and for every request_id its idempotency records and
 * the undecided transfers that use it (on any account of the tenant; the batch matches them by
 * account); and, when the sweep is due, the holds past their timeout.
 */
public record LoadPlan(List<String> accountTenants, List<String> accountIds, Set<String> holdIds,
    List<String> requestTenants, List<String> requestIds, Set<String> txids, Long dueBeforeMicros, int dueMax) {

  /**
   * {@code dueBeforeMicros} null: no sweep in this batch. The accounts in {@code cached} are not
   * loaded: the writer takes them from its view.
   */
  static LoadPlan of(List<Op> ops, Long dueBeforeMicros, int dueMax, Set<AccountView.Key> cached) {
    List<String> accountTenants = new ArrayList<>();
    List<String> accountIds = new ArrayList<>();
    Set<String> holdIds = new LinkedHashSet<>();
    List<String> requestTenants = new ArrayList<>();
    List<String> requestIds = new ArrayList<>();
    Set<String> txids = new LinkedHashSet<>();
    for (Op op : ops) {
      if (op.requestId() != null) {
        requestTenants.add(op.tenantId());
        requestIds.add(op.requestId());
      }
      for (int i = 0; i < op.accountIds().size(); i++) {
        if (!cached.contains(new AccountView.Key(op.accountTenant(i), op.accountIds().get(i)))) {
          accountTenants.add(op.accountTenant(i));
          accountIds.add(op.accountIds().get(i));
        }
      }
      if (op.holdId() != null) {
        holdIds.add(op.holdId());
      }
      if (op.tx() != null) {
        txids.add(op.tx().txid());
      }
    }
    return new LoadPlan(accountTenants, accountIds, holdIds, requestTenants, requestIds, txids, dueBeforeMicros,
        dueMax);
  }
}
