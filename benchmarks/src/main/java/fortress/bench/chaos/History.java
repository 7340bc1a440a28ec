package fortress.bench.chaos;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;

/**
 * The run's history: every operation with its outcome and every fault, in the order they ended,
 * one JSON object a line in a file, and in memory for the checker.
 */
final class History implements AutoCloseable {
  /** How a call ended: it took effect, it definitely did not, or the client cannot tell. */
  enum Outcome { OK, FAIL, UNCERTAIN }

  /** HOLD creates a hold, CAPTURE spends (part of) one, RELEASE frees one. */
  enum Kind { DEPOSIT, CONSUME, TRANSFER, HOLD, CAPTURE, RELEASE }

  /**
   * One mutation. {@code from} is the debited account (empty for a deposit), {@code to} the
   * credited one (empty for a consume); a capture debits its hold's account by the captured
   * amount; a hold or a release moves no balance. {@code hold} names the hold (for a creation,
   * once acknowledged). {@code response} is what the client saw (a transfer_id, an entry sequence
   * or a hold id), for replays and the checker to compare.
   */
  record Op(int client, Kind kind, String requestId, String from, String to, long amount, String hold,
      Outcome outcome, String status, String response, long startMillis, long endMillis, String account) {

    /** The account the request_id belongs to (empty for a capture or release, which use the hold). */
    Op {
      account = account == null ? "" : account;
    }

    /** The lookup of this operation's outcome: in the scope of its account, or of its hold. */
    fortress.ledger.v1.GetOperationRequest lookup(String tenant) {
      var b = fortress.ledger.v1.GetOperationRequest.newBuilder().setTenantId(tenant).setRequestId(requestId);
      return kind == Kind.CAPTURE || kind == Kind.RELEASE ? b.setHoldId(hold).build() : b.setAccountId(account).build();
    }

    /** The same operation with another outcome, status and response (the self-check's lies). */
    Op with(Outcome outcome, String status, String response) {
      return new Op(client, kind, requestId, from, to, amount, hold, outcome, status, response, startMillis, endMillis,
          account);
    }
  }

  /** One fault: what, on which server, and when it began and ended. */
  record Fault(String kind, String target, long startMillis, long endMillis) {}

  private final BufferedWriter out;
  private final long origin;
  private final List<Op> ops = new ArrayList<>();
  private final List<Fault> faults = new ArrayList<>();

  History(Path file) throws IOException {
    this(file, System.currentTimeMillis());
  }

  private History(Path file, long origin) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
    this.origin = origin;
  }

  /** A new history in {@code file} on this one's clock, so the times of copied operations keep their meaning. */
  History sameClock(Path file) throws IOException {
    return new History(file, origin);
  }

  long now() {
    return System.currentTimeMillis() - origin;
  }

  synchronized void add(Op op) {
    ops.add(op);
    write(fields("type", "op", "client", op.client(), "kind", op.kind(), "request_id", op.requestId(),
        "from", op.from(), "to", op.to(), "amount", op.amount(), "hold", op.hold(), "account", op.account(), "outcome", op.outcome(),
        "status", op.status(), "response", op.response()), op.startMillis(), op.endMillis());
  }

  synchronized void add(Fault fault) {
    faults.add(fault);
    write(fields("type", "fault", "kind", fault.kind(), "target", fault.target()), fault.startMillis(),
        fault.endMillis());
  }

  /** A line for anything else worth keeping in the record (a resolution, an anomaly). */
  synchronized void note(String type, Map<String, Object> fields) {
    write(fields("type", type, "fields", fields.toString()), now(), now());
  }

  /** Adds operations as they are, to a history that is not the run's own (the checker's self-check). */
  synchronized void addAll(List<Op> more) {
    more.forEach(this::add);
  }

  synchronized List<Op> ops() {
    return List.copyOf(ops);
  }

  synchronized List<Fault> faults() {
    return List.copyOf(faults);
  }

  private static Map<String, Object> fields(Object... namesAndValues) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (int i = 0; i < namesAndValues.length; i += 2) {
      out.put((String) namesAndValues[i], namesAndValues[i + 1]);
    }
    return out;
  }

  private void write(Map<String, Object> fields, long start, long end) {
    StringJoiner line = new StringJoiner(",", "{", "}");
    line.add("\"start_ms\":" + start).add("\"end_ms\":" + end);
    fields.forEach((name, value) -> line.add("\"" + name + "\":"
        + (value instanceof Number n ? n.toString() : quote(String.valueOf(value)))));
    try {
      out.write(line.toString());
      out.newLine();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String quote(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        default -> b.append(c < 0x20 ? String.format(Locale.ROOT, "\\u%04x", (int) c) : c);
      }
    }
    return b.append('"').toString();
  }

  @Override
  public synchronized void close() throws IOException {
    out.close();
  }
}
