package fortress.ledger.journal;

import static com.google.common.base.Preconditions.checkState;

import fortress.ledger.v1.EntryKind;

/**
 * The sequential part of verification: entry numbering, and a replay of each entry's effect that
 * must reproduce the balance and held credits it records. Keeps every account's replayed state in
 * an open-addressing table keyed by account_ref, one slot of {@link #STRIDE} longs (key, balance,
 * held, flags) per account, so a million entries cost no per-entry objects and one cache line each.
 * Not thread-safe.
 */
final class Replay {
  private static final int SLOTS_INITIAL = 1 << 12;
  private static final int STRIDE = 4;
  private static final int BALANCE = 1;
  private static final int HELD = 2;
  private static final int FLAGS = 3;
  private static final long USED = 1;
  private static final long COMPARED = 2;

  private long expected = 1;
  private long[] table = new long[SLOTS_INITIAL * STRIDE];
  private int size;

  /** Checks that {@code sequence} comes next; the problem, or null. */
  String numbering(long sequence) {
    if (sequence != expected) {
      return "sequence " + expected + " is missing (next entry is " + sequence + ")";
    }
    expected++;
    return null;
  }

  /** Applies one entry; the problem, or null. Entries must come in sequence order. */
  String apply(long sequence, long accountRef, int kind, long amount, long balanceAfter, long heldAfter) {
    int at = slot(accountRef);
    long b = table[at + BALANCE];
    long h = table[at + HELD];
    switch (kind) {
      case EntryKind.ENTRY_KIND_ACCOUNT_CREATED_VALUE -> { }
      case EntryKind.ENTRY_KIND_DEPOSIT_VALUE, EntryKind.ENTRY_KIND_TRANSFER_CREDIT_VALUE -> b += amount;
      case EntryKind.ENTRY_KIND_CONSUME_VALUE, EntryKind.ENTRY_KIND_TRANSFER_DEBIT_VALUE -> b -= amount;
      case EntryKind.ENTRY_KIND_HOLD_CREATED_VALUE -> h += amount;
      case EntryKind.ENTRY_KIND_HOLD_CAPTURED_VALUE -> {
        b -= amount;
        h -= amount;
      }
      case EntryKind.ENTRY_KIND_HOLD_RELEASED_VALUE, EntryKind.ENTRY_KIND_HOLD_EXPIRED_VALUE -> h -= amount;
      default -> {
        return "entry " + sequence + " has unknown kind " + kind;
      }
    }
    if (b != balanceAfter || h != heldAfter) {
      return "entry " + sequence + " records balance " + balanceAfter + "/held " + heldAfter
          + " but replay gives " + b + "/" + h;
    }
    if (b < 0 || h < 0 || h > b) {
      return "entry " + sequence + " leaves a negative available balance";
    }
    table[at + BALANCE] = b;
    table[at + HELD] = h;
    return null;
  }

  /**
   * The replayed {balance, held} of an account from the live table, marking it compared; null if
   * the journal has no entry for it.
   */
  long[] compare(long accountRef) {
    int at = find(accountRef);
    if (at < 0) {
      return null;
    }
    table[at + FLAGS] |= COMPARED;
    return new long[] {table[at + BALANCE], table[at + HELD]};
  }

  /** An account_ref with entries that {@link #compare} was never asked about, or null. */
  Long uncompared() {
    for (int at = 0; at < table.length; at += STRIDE) {
      if (table[at + FLAGS] == USED) {
        return table[at];
      }
    }
    return null;
  }

  private int find(long key) {
    int mask = table.length / STRIDE - 1;
    for (int i = mix(key) & mask; table[i * STRIDE + FLAGS] != 0; i = (i + 1) & mask) {
      if (table[i * STRIDE] == key) {
        return i * STRIDE;
      }
    }
    return -1;
  }

  private int slot(long key) {
    int mask = table.length / STRIDE - 1;
    int i = mix(key) & mask;
    for (; table[i * STRIDE + FLAGS] != 0; i = (i + 1) & mask) {
      if (table[i * STRIDE] == key) {
        return i * STRIDE;
      }
    }
    if (2 * (size + 1) > mask + 1) {
      grow();
      return slot(key);
    }
    int at = i * STRIDE;
    table[at] = key;
    table[at + FLAGS] = USED;
    size++;
    return at;
  }

  private void grow() {
    checkState(table.length < 1 << 28, "more accounts than a replay table can hold");
    long[] old = table;
    table = new long[old.length * 2];
    size = 0;
    for (int at = 0; at < old.length; at += STRIDE) {
      if (old[at + FLAGS] != 0) {
        int to = slot(old[at]);
        table[to + BALANCE] = old[at + BALANCE];
        table[to + HELD] = old[at + HELD];
        table[to + FLAGS] = old[at + FLAGS];
      }
    }
  }

  private static int mix(long key) {
    long h = key * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 32));
  }
}
