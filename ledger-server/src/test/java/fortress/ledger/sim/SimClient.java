package fortress.ledger.sim;

import com.google.protobuf.Message;
import fortress.ledger.store.Lookup;
import fortress.ledger.v1.CaptureHoldRequest;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.CreateAccountRequest;
import fortress.ledger.v1.CreateHoldRequest;
import fortress.ledger.v1.CreateHoldResponse;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.ErrorReason;
import fortress.ledger.v1.ReleaseHoldRequest;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.write.Outcome;
import fortress.rpc.ErrorReasons;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * A client of the simulated cluster, sending each mutation to the node that owns its account over
 * a link that loses and delays messages, with a deadline. It deposits, consumes, transfers (mostly
 * across nodes), holds and captures or releases; it retries uncertain requests with the same
 * request_id, sometimes after asking GetOperation; it asks GetOperation at any moment; and now and
 * then it reuses a request_id wrongly, with another body on the same account. Once the faults stop
 * it retries every uncertain request until each is settled.
 */
final class SimClient {
  /** One request: its body, and the scope its request_id belongs to (an account, or for hold calls a hold). */
  private record Sent(Message request, String requestId, String account, String hold) {}

  private final int id;
  private final Simulation sim;
  private final Random random;
  private final List<Sent> uncertain = new ArrayList<>();
  private final List<Sent> past = new ArrayList<>();
  private final List<String> holds = new ArrayList<>();
  private int opened;
  /** Requests sent and not answered yet (nor timed out). */
  private int pending;

  SimClient(int id, Simulation sim, Random random) {
    this.id = id;
    this.sim = sim;
    this.random = random;
  }

  // Opening the accounts, before the faults.

  void openAccounts() {
    for (String account : sim.accounts) {
      openOne(new Sent(CreateAccountRequest.newBuilder().setRequestId("open-" + account).setTenantId(Simulation.TENANT)
          .setAccountId(account).build(), "open-" + account, account, null));
      openOne(new Sent(DepositRequest.newBuilder().setRequestId("fund-" + account).setTenantId(Simulation.TENANT)
          .setAccountId(account).setAmount(1_000_000).build(), "fund-" + account, account, null));
    }
  }

  private void openOne(Sent s) {
    send(s, outcome -> {
      if (outcome instanceof Outcome.Ok) {
        opened++;
      } else {
        sim.scheduler.after(10_000, () -> openOne(s));
      }
    });
  }

  boolean opened() {
    return opened == 2 * sim.accounts.size();
  }

  // The workload.

  void start() {
    sim.scheduler.after(sim.latencyMicros(0, 5_000), this::next);
  }

  /** What is still uncertain, for the report. */
  String stuck() {
    return uncertain.isEmpty() ? "" : uncertain.get(0).request().getClass().getSimpleName() + " "
        + uncertain.get(0).requestId() + " (last answer " + lastUncertain + ")";
  }

  private String lastUncertain = "";

  /** True once nothing this client sent is uncertain (after the faults). */
  boolean resolved() {
    return uncertain.isEmpty() && pending == 0;
  }

  private void next() {
    if (sim.draining) {
      settle();
      return;
    }
    double u = random.nextDouble();
    if (u < 0.10 && !uncertain.isEmpty()) {
      retry(uncertain.remove(random.nextInt(uncertain.size())));
    } else if (u < 0.18 && !past.isEmpty()) {
      lookUp(past.get(random.nextInt(past.size())), found -> done());
    } else if (u < 0.22 && !past.isEmpty()) {
      reuseWrongly(past.get(random.nextInt(past.size())));
    } else if (u < 0.32) {
      String a = account();
      mutate(DepositRequest.newBuilder().setRequestId(requestId()).setTenantId(Simulation.TENANT).setAccountId(a)
          .setAmount(1 + random.nextInt(500)).build(), a, null);
    } else if (u < 0.42) {
      String a = account();
      mutate(ConsumeRequest.newBuilder().setRequestId(requestId()).setTenantId(Simulation.TENANT).setAccountId(a)
          .setAmount(1 + random.nextInt(500)).build(), a, null);
    } else if (u < 0.48) {
      String a = account();
      mutate(CreateHoldRequest.newBuilder().setRequestId(requestId()).setTenantId(Simulation.TENANT).setAccountId(a)
          .setAmount(1 + random.nextInt(500)).setTimeoutSeconds(1 + random.nextInt(3)).build(), a, null);
    } else if (u < 0.52) {
      batch();
    } else if (u < 0.58 && !holds.isEmpty()) {
      String hold = holds.remove(random.nextInt(holds.size()));
      Message r = random.nextBoolean()
          ? CaptureHoldRequest.newBuilder().setRequestId(requestId()).setTenantId(Simulation.TENANT).setHoldId(hold)
              .setAmount(1).build()
          : ReleaseHoldRequest.newBuilder().setRequestId(requestId()).setTenantId(Simulation.TENANT).setHoldId(hold)
              .build();
      mutate(r, null, hold);
    } else {
      String from = account();
      String to = account();
      while (to.equals(from)) {
        to = account();
      }
      mutate(TransferRequest.newBuilder().setRequestId(requestId()).setTenantId(Simulation.TENANT)
          .setFromAccountId(from).setToAccountId(to).setAmount(1 + random.nextInt(800)).build(), from, null);
    }
  }

  /**
   * A SubmitBatch on one account's node: a deposit, then a transfer from that account (across
   * nodes or not) and a consume, which apply in that order.
   */
  private void batch() {
    String a = account();
    String to = account();
    while (to.equals(a)) {
      to = account();
    }
    long amount = 1 + random.nextInt(300);
    List<Sent> ops = List.of(
        new Sent(DepositRequest.newBuilder().setRequestId(requestId()).setTenantId(Simulation.TENANT).setAccountId(a)
            .setAmount(amount).build(), null, a, null),
        new Sent(TransferRequest.newBuilder().setRequestId(requestId()).setTenantId(Simulation.TENANT)
            .setFromAccountId(a).setToAccountId(to).setAmount(amount).build(), null, a, null),
        new Sent(ConsumeRequest.newBuilder().setRequestId(requestId()).setTenantId(Simulation.TENANT).setAccountId(a)
            .setAmount(1).build(), null, a, null));
    List<Sent> sent = ops.stream().map(o -> new Sent(o.request(), text(o.request()), a, null)).toList();
    sim.count("batches");
    sendAll(sent, outcomes -> {
      for (int i = 0; i < sent.size(); i++) {
        settled(sent.get(i), outcomes == null ? null : outcomes.get(i));
      }
      done();
    });
  }

  private void done() {
    sim.scheduler.after(sim.latencyMicros(200, 5_000), this::next);
  }

  private String account() {
    return sim.accounts.get(random.nextInt(sim.accounts.size()));
  }

  private String requestId() {
    return "c" + id + "-" + sim.uuid();
  }

  private void mutate(Message request, String account, String hold) {
    Sent s = new Sent(request, text(request), account, hold);
    send(s, outcome -> {
      settled(s, outcome);
      done();
    });
    // GetOperation at any moment: also while the request is on its way and being decided. And now
    // and then its request_id reused wrongly at such a moment.
    for (int i = random.nextInt(4); i > 0; i--) {
      sim.scheduler.after(sim.latencyMicros(0, 2 * sim.settings.prepareTimeoutMs() * 1000), () -> lookUp(s, x -> { }));
    }
    if (account != null && random.nextDouble() < 0.05) {
      sim.scheduler.after(sim.latencyMicros(0, 2 * sim.settings.prepareTimeoutMs() * 1000), () -> sendReused(s));
    }
  }

  /** An uncertain request again, with the same request_id, sometimes asking GetOperation first. */
  private void retry(Sent s) {
    if (random.nextBoolean()) {
      lookUp(s, found -> {
        if (found == null || found instanceof Lookup.InProgress) {
          uncertain.add(s);
          done();
        } else if (found instanceof Lookup.Found) {
          done();
        } else {
          send(s, outcome -> {
            settled(s, outcome);
            done();
          });
        }
      });
    } else {
      send(s, outcome -> {
        settled(s, outcome);
        done();
      });
    }
  }

  /** A request_id used before, on the same account, for another request: it must not take effect twice. */
  private void reuseWrongly(Sent earlier) {
    if (earlier.account() == null) {
      done();
      return;
    }
    sendReused(earlier);
    done();
  }

  /** A deposit under {@code earlier}'s request_id and account; an uncertain answer is retried like any other. */
  private void sendReused(Sent earlier) {
    Sent s = new Sent(DepositRequest.newBuilder().setRequestId(earlier.requestId()).setTenantId(Simulation.TENANT)
        .setAccountId(earlier.account()).setAmount(1 + random.nextInt(7)).setMemo("reused").build(),
        earlier.requestId(), earlier.account(), null);
    sim.count("request-ids-reused");
    send(s, outcome -> {
      if (outcome == null || isUncertain(outcome)) {
        uncertain.add(s);
      }
    });
  }

  /** After the faults: every uncertain request again, until none is left (late answers may add more). */
  private void settle() {
    if (uncertain.isEmpty()) {
      sim.scheduler.after(50_000, this::settle);
      return;
    }
    Sent s = uncertain.remove(0);
    send(s, outcome -> {
      settled(s, outcome);
      sim.scheduler.after(sim.latencyMicros(1_000, 50_000), this::settle);
    });
  }

  private void settled(Sent s, Outcome outcome) {
    if (outcome == null || isUncertain(outcome)) {
      uncertain.add(s);
      lastUncertain = outcome == null ? "none" : ((Outcome.Failed) outcome).rejection().message();
      sim.count("answers-uncertain");
      return;
    }
    sim.count(outcome instanceof Outcome.Ok ? "answers-ok" : "answers-refused");
    past.add(s);
    if (past.size() > 200) {
      past.remove(0);
    }
    if (outcome instanceof Outcome.Ok ok && ok.response() instanceof CreateHoldResponse h) {
      holds.add(h.getHold().getHoldId());
    }
  }

  private static boolean isUncertain(Outcome outcome) {
    // UNAVAILABLE: uncertain (OUTCOME_UNKNOWN, TRANSFER_IN_PROGRESS) or worth another try
    // (STORAGE_UNAVAILABLE, SHUTTING_DOWN), as the contract declares each reason.
    return outcome instanceof Outcome.Failed f && ErrorReasons.code(f.rejection().reason()) == Status.Code.UNAVAILABLE;
  }

  // The link to the nodes.

  /**
   * Sends a request to its account's node; {@code then} gets the outcome, or null when no answer
   * came before the deadline. The node's own acknowledgement is checked as it is sent.
   */
  private void send(Sent s, Consumer<Outcome> then) {
    sendAll(List.of(s), outcomes -> then.accept(outcomes == null ? null : outcomes.get(0)));
  }

  /**
   * Sends requests on one account's (or hold's) node, as one SubmitBatch when there are several;
   * {@code then} gets their outcomes, or null when no answer came before the deadline. The node's
   * own acknowledgements are checked as they are sent.
   */
  private void sendAll(List<Sent> batch, Consumer<List<Outcome>> then) {
    boolean[] answered = {false};
    pending++;
    Consumer<List<Outcome>> once = o -> {
      if (!answered[0]) {
        answered[0] = true;
        pending--;
        then.accept(o);
      }
    };
    sim.scheduler.after(sim.settings.clientTimeoutMs() * 1000, () -> once.accept(null));
    SimNode node = sim.owner(batch.get(0).account(), batch.get(0).hold());
    if (sim.lose()) {
      return;
    }
    sim.scheduler.after(sim.messageDelayMicros(), () -> {
      SimNode.Incarnation there = node.current;
      if (there == null || !there.serving) {
        return;
      }
      there.mutations.submitAll(batch.stream().map(Sent::request).toList()).whenComplete((outcomes, e) -> {
        for (int i = 0; outcomes != null && i < batch.size(); i++) {
          if (outcomes.get(i) instanceof Outcome.Ok) {
            Sent s = batch.get(i);
            sim.invariants.acknowledged(node, Simulation.TENANT, s.account(), s.hold(), s.requestId());
          }
        }
        if (!sim.lose()) {
          sim.scheduler.after(sim.messageDelayMicros(), () -> once.accept(e != null ? null : outcomes));
        }
      });
    });
  }

  /** GetOperation on the request's node; {@code then} gets the answer, or null when none came in time. */
  private void lookUp(Sent s, Consumer<Lookup> then) {
    boolean[] answered = {false};
    Consumer<Lookup> once = l -> {
      if (!answered[0]) {
        answered[0] = true;
        then.accept(l);
      }
    };
    sim.scheduler.after(sim.settings.clientTimeoutMs() * 1000, () -> once.accept(null));
    SimNode node = sim.owner(s.account(), s.hold());
    sim.count("lookups");
    sim.scheduler.after(sim.messageDelayMicros(), () -> {
      SimNode.Incarnation there = node.current;
      if (there == null || !there.serving) {
        return;
      }
      there.mutations.operation(Simulation.TENANT, s.account(), s.hold(), s.requestId()).whenComplete((found, e) -> {
        if (found instanceof Lookup.Absent) {
          sim.invariants.absent(node, Simulation.TENANT, s.account(), s.hold(), s.requestId());
        }
        sim.scheduler.after(sim.messageDelayMicros(), () -> once.accept(e != null ? null : found));
      });
    });
  }

  private static String text(Message m) {
    return (String) m.getField(m.getDescriptorForType().findFieldByName("request_id"));
  }
}
