package fortress.ledger.journal;

import static com.google.common.base.Preconditions.checkState;

import fortress.ledger.v1.EntryKind;

/**
 * The sequential part of verification: entry numbering, and a replay of each entry's effect that
 * must reproduce the balance and held credits it records. Keeps every account's replayed state in
 * an open-addressing table keyed by account_ref, so a million entries cost no per-entry objects.
 * Not thread-safe.
 */
final class Replay {
  private static final int CAPACITY_INITIAL = 1 << 12;

  private long expected = 1;
  private long[] keys = new long[CAPACITY_INITIAL];
  private long[] balance = new long[CAPACITY_INITIAL];
  private long[] held = new long[CAPACITY_INITIAL];
  private boolean[] used = new boolean[CAPACITY_INITIAL];
  private boolean[] compared = new boolean[CAPACITY_INITIAL];
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
    int slot = slot(accountRef);
    long b = balance[slot];
    long h = held[slot];
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
    balance[slot] = b;
    held[slot] = h;
    return null;
  }

  /**
   * The replayed {balance, held} of an account from the live table, marking it compared; null if
   * the journal has no entry for it.
   */
  long[] compare(long accountRef) {
    int slot = find(accountRef);
    if (slot < 0) {
      return null;
    }
    compared[slot] = true;
    return new long[] {balance[slot], held[slot]};
  }

  /** An account_ref with entries that {@link #compare} was never asked about, or null. */
  Long uncompared() {
    for (int i = 0; i < keys.length; i++) {
      if (used[i] && !compared[i]) {
        return keys[i];
      }
    }
    return null;
  }

  private int find(long key) {
    int mask = keys.length - 1;
    for (int i = mix(key) & mask; used[i]; i = (i + 1) & mask) {
      if (keys[i] == key) {
        return i;
      }
    }
    return -1;
  }

  private int slot(long key) {
    int mask = keys.length - 1;
    int i = mix(key) & mask;
    for (; used[i]; i = (i + 1) & mask) {
      if (keys[i] == key) {
        return i;
      }
    }
    if (2 * (size + 1) > keys.length) {
      grow();
      return slot(key);
    }
    used[i] = true;
    keys[i] = key;
    size++;
    return i;
  }

  private void grow() {
    checkState(keys.length < 1 << 30, "more accounts than a replay table can hold");
    long[] oldKeys = keys;
    long[] oldBalance = balance;
    long[] oldHeld = held;
    boolean[] oldUsed = used;
    keys = new long[oldKeys.length * 2];
    balance = new long[keys.length];
    held = new long[keys.length];
    used = new boolean[keys.length];
    compared = new boolean[keys.length];
    size = 0;
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldUsed[i]) {
        int s = slot(oldKeys[i]);
        balance[s] = oldBalance[i];
        held[s] = oldHeld[i];
      }
    }
  }

  private static int mix(long key) {
    long h = key * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 32));
  }
}
