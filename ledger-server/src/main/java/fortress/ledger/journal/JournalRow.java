package fortress.ledger.journal;

/**
 * One journal entry as stored. {@code accountRef} is the node-local account key. Nullable text
 * fields are null when absent; {@code hash} and {@code hmac} seal every other field.
 */
public record JournalRow(
    long sequence,
    long accountRef,
    int kind,
    long amount,
    long balanceAfter,
    long heldAfter,
    String requestId,
    String holdId,
    String transferId,
    String memo,
    long createdMicros,
    byte[] hash,
    byte[] hmac) {}
