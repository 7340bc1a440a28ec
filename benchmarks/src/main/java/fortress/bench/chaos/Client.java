package fortress.bench.chaos;

import com.google.protobuf.Message;
import fortress.client.FortressClient;
import fortress.client.FortressException;
import fortress.core.rpc.ErrorStatus;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.CaptureHoldRequest;
import fortress.ledger.v1.CaptureHoldResponse;
import fortress.ledger.v1.ConsumeRequest;
import fortress.ledger.v1.ConsumeResponse;
import fortress.ledger.v1.CreateHoldRequest;
import fortress.ledger.v1.CreateHoldResponse;
import fortress.ledger.v1.DepositRequest;
import fortress.ledger.v1.DepositResponse;
import fortress.ledger.v1.ReleaseHoldRequest;
import fortress.ledger.v1.ReleaseHoldResponse;
import fortress.ledger.v1.TransferRequest;
import fortress.ledger.v1.TransferResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * One bank client: random deposits, consumes and transfers (most of them cross-node, some on hot
 * accounts), holds that it captures, releases or leaves to expire, balance reads, replays of its
 * own acknowledged requests, and second attempts to resolve holds it already resolved (which
 * must fail). Every call's outcome goes to the history; every account a response or a read shows
 * is checked on the spot.
 */
final class Client {
  /** How the client reaches the ledger; errors come back as statuses with their ErrorInfo. */
  interface Ledger {
    Message send(Message request);

    Account read(String accountId);
  }

  /**
   * The ledger through FortressClient: with one attempt per call (every error reaches the
   * history) or with the SDK's retries under the same request_id, as the client was built.
   */
  static Ledger over(FortressClient client) {
    return new Ledger() {
      @Override
      public Message send(Message request) {
        try {
          return request instanceof DepositRequest r ? client.deposit(r)
              : request instanceof ConsumeRequest r ? client.consume(r)
              : request instanceof CreateHoldRequest r ? client.createHold(r)
              : request instanceof CaptureHoldRequest r ? client.captureHold(r)
              : request instanceof ReleaseHoldRequest r ? client.releaseHold(r)
              : client.transfer((TransferRequest) request);
        } catch (FortressException e) {
          throw status(e);
        }
      }

      @Override
      public Account read(String accountId) {
        try {
          return client.getAccount(accountId);
        } catch (FortressException e) {
          throw status(e);
        }
      }
    };
  }

  private static StatusRuntimeException status(FortressException e) {
    return ErrorStatus.of(e.code(), e.domain(), e.reason(), e.getMessage(), e.metadata());
  }

  static final long CALL_DEADLINE_MS = 5_000;
  /** After an uncertain outcome the client waits before its next call, as a real client backs off. */
  static final long BACKOFF_MS = 100;
  /** Holds expire after 2 to HOLD_TIMEOUT_SECONDS_MAX seconds unless captured or released first. */
  static final int HOLD_TIMEOUT_SECONDS_MAX = 6;

  private final int id;
  private final Bank.Accounts accounts;
  private final Ledger ledger;
  private final Runnable reconnect;
  private final History history;
  private final Anomalies anomalies;
  private final Random random;
  private final double crossNodeShare;
  private final double hotShare;
  private final int amountMax;
  /** This client's acknowledged requests and what they returned, for replays. */
  private final List<Message[]> acknowledged = new ArrayList<>();
  /** Holds this client created and has not resolved: {hold id, account, amount}. */
  private final List<String[]> activeHolds = new ArrayList<>();
  /** Holds whose capture or release was acknowledged, for a second attempt that must fail. */
  private final List<String> resolvedHolds = new ArrayList<>();

  /** {@code reconnect} asks the channel to reconnect now rather than after its backoff. */
  Client(int id, Bank.Accounts accounts, Ledger ledger, Runnable reconnect,
      History history, Anomalies anomalies, long seed, double crossNodeShare, double hotShare, int amountMax) {
    this.id = id;
    this.accounts = accounts;
    this.ledger = ledger;
    this.reconnect = reconnect;
    this.history = history;
    this.anomalies = anomalies;
    this.random = new Random(seed);
    this.crossNodeShare = crossNodeShare;
    this.hotShare = hotShare;
    this.amountMax = amountMax;
  }

  /** Runs while {@code going} says so. */
  void runUntil(java.util.function.BooleanSupplier going) {
    long done = 0;
    while (going.getAsBoolean()) {
      double u = random.nextDouble();
      if (u < 0.07 && !acknowledged.isEmpty()) {
        replay(acknowledged.get(random.nextInt(acknowledged.size())));
      } else if (u < 0.19) {
        String to = accounts.pick(random, hotShare);
        long amount = 1 + random.nextInt(amountMax);
        DepositRequest r = DepositRequest.newBuilder().setRequestId(newId()).setTenantId(Bank.TENANT)
            .setAccountId(to).setAmount(amount).build();
        call(History.Kind.DEPOSIT, r, "", to, amount, "", () -> ledger.send(r));
      } else if (u < 0.31) {
        String from = accounts.pick(random, hotShare);
        long amount = 1 + random.nextInt(amountMax);
        ConsumeRequest r = ConsumeRequest.newBuilder().setRequestId(newId()).setTenantId(Bank.TENANT)
            .setAccountId(from).setAmount(amount).build();
        call(History.Kind.CONSUME, r, from, "", amount, "", () -> ledger.send(r));
      } else if (u < 0.39) {
        String account = accounts.pick(random, hotShare);
        long amount = 1 + random.nextInt(amountMax);
        CreateHoldRequest r = CreateHoldRequest.newBuilder().setRequestId(newId()).setTenantId(Bank.TENANT)
            .setAccountId(account).setAmount(amount).setTimeoutSeconds(2 + random.nextInt(HOLD_TIMEOUT_SECONDS_MAX - 1))
            .build();
        Message created = call(History.Kind.HOLD, r, "", "", amount, "", () -> ledger.send(r));
        if (created instanceof CreateHoldResponse h) {
          activeHolds.add(new String[] {h.getHold().getHoldId(), account, Long.toString(amount)});
        }
      } else if (u < 0.47 && !activeHolds.isEmpty()) {
        resolve(activeHolds.remove(random.nextInt(activeHolds.size())));
      } else if (u < 0.49 && !resolvedHolds.isEmpty()) {
        resolveAgain(resolvedHolds.get(random.nextInt(resolvedHolds.size())));
      } else {
        String[] pair = accounts.pair(random, random.nextDouble() < crossNodeShare, hotShare);
        long amount = 1 + random.nextInt(amountMax);
        TransferRequest r = TransferRequest.newBuilder().setRequestId(newId()).setTenantId(Bank.TENANT)
            .setFromAccountId(pair[0]).setToAccountId(pair[1]).setAmount(amount).build();
        call(History.Kind.TRANSFER, r, pair[0], pair[1], amount, "", () -> ledger.send(r));
      }
      if (++done % 16 == 0) {
        read(accounts.pick(random, hotShare));
      }
    }
  }

  /** The account a mutation's request_id belongs to: a transfer's debited account, else its account. */
  private static String account(Message request) {
    for (String field : new String[] {"from_account_id", "account_id"}) {
      var f = request.getDescriptorForType().findFieldByName(field);
      if (f != null) {
        return (String) request.getField(f);
      }
    }
    return "";
  }

  private String newId() {
    return "c" + id + "-" + new UUID(random.nextLong(), random.nextLong());
  }

  /** Sends a mutation and records it; returns the response, or null if there was none. */
  private Message call(History.Kind kind, Message request, String from, String to, long amount, String hold,
      Supplier<Message> send) {
    long start = history.now();
    try {
      Message response = send.get();
      seen(response);
      acknowledged.add(new Message[] {request, response});
      String holdId = response instanceof CreateHoldResponse h ? h.getHold().getHoldId() : hold;
      history.add(new History.Op(id, kind, requestId(request), from, to, amount, holdId, History.Outcome.OK, "OK",
          summary(response), start, history.now(), account(request)));
      return response;
    } catch (StatusRuntimeException e) {
      History.Outcome outcome = classify(e.getStatus());
      history.add(new History.Op(id, kind, requestId(request), from, to, amount, hold, outcome,
          e.getStatus().getCode() + reason(e), "", start, history.now(), account(request)));
      if (outcome == History.Outcome.UNCERTAIN) {
        backOff();
      }
      return null;
    }
  }

  /** Captures part or all of a hold, releases it, or leaves it to expire. */
  private void resolve(String[] hold) {
    String holdId = hold[0];
    long amount = Long.parseLong(hold[2]);
    double u = random.nextDouble();
    if (u < 0.45) {
      long captured = 1 + random.nextInt((int) amount);
      CaptureHoldRequest r = CaptureHoldRequest.newBuilder().setRequestId(newId()).setTenantId(Bank.TENANT)
          .setHoldId(holdId).setAmount(captured).build();
      if (call(History.Kind.CAPTURE, r, hold[1], "", captured, holdId, () -> ledger.send(r)) != null) {
        resolvedHolds.add(holdId);
      }
    } else if (u < 0.80) {
      ReleaseHoldRequest r = ReleaseHoldRequest.newBuilder().setRequestId(newId()).setTenantId(Bank.TENANT)
          .setHoldId(holdId).build();
      if (call(History.Kind.RELEASE, r, "", "", 0, holdId, () -> ledger.send(r)) != null) {
        resolvedHolds.add(holdId);
      }
    }
  }

  /** A second capture or release of a resolved hold, under a new request_id: it must be refused. */
  private void resolveAgain(String holdId) {
    try {
      Message again = ledger.send(random.nextBoolean()
          ? ReleaseHoldRequest.newBuilder().setRequestId(newId()).setTenantId(Bank.TENANT).setHoldId(holdId).build()
          : CaptureHoldRequest.newBuilder().setRequestId(newId()).setTenantId(Bank.TENANT).setHoldId(holdId)
              .setAmount(1).build());
      anomalies.add("hold-resolved-twice", holdId + ": " + summary(again));
    } catch (StatusRuntimeException e) {
      if (classify(e.getStatus()) == History.Outcome.UNCERTAIN) {
        backOff();
      }
    }
  }

  private void backOff() {
    reconnect.run();
    try {
      Thread.sleep(BACKOFF_MS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Sends an acknowledged request again: it must return the original response. */
  private void replay(Message[] original) {
    Message request = original[0];
    try {
      Message again = ledger.send(request);
      if (!again.equals(original[1])) {
        anomalies.add("replay-differs", requestId(request) + ": " + summary(original[1]) + " then " + summary(again));
      }
    } catch (StatusRuntimeException e) {
      if (classify(e.getStatus()) == History.Outcome.FAIL) {
        anomalies.add("replay-refused", requestId(request) + ": " + e.getStatus());
      } else {
        backOff();
      }
    }
  }

  private void read(String account) {
    try {
      seen(ledger.read(account));
    } catch (StatusRuntimeException e) {
      if (classify(e.getStatus()) == History.Outcome.FAIL) {
        anomalies.add("read-refused", account + ": " + e.getStatus());
      } else {
        backOff();
      }
    }
  }

  /** Every account a response shows must be non-negative and hold no more than its balance. */
  private void seen(Message response) {
    List<Account> shown = response instanceof DepositResponse r ? List.of(r.getAccount())
        : response instanceof ConsumeResponse r ? List.of(r.getAccount())
        : response instanceof TransferResponse r ? List.of(r.getFromAccount(), r.getToAccount())
        : response instanceof CreateHoldResponse r ? List.of(r.getAccount())
        : response instanceof CaptureHoldResponse r ? List.of(r.getAccount())
        : response instanceof ReleaseHoldResponse r ? List.of(r.getAccount())
        : response instanceof Account a ? List.of(a)
        : List.of();
    for (Account a : shown) {
      if (a.getBalance() < 0 || a.getHeld() < 0 || a.getHeld() > a.getBalance()) {
        anomalies.add("bad-read", a.getAccountId() + " balance " + a.getBalance() + " held " + a.getHeld());
      }
    }
  }

  /**
   * A status either says the request did not take effect, or leaves the client unable to tell.
   * UNKNOWN and INTERNAL are anomalies in themselves: the servers never mean to answer with them.
   */
  History.Outcome classify(Status status) {
    return switch (status.getCode()) {
      case INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND, ALREADY_EXISTS, ABORTED, RESOURCE_EXHAUSTED,
          OUT_OF_RANGE, PERMISSION_DENIED, UNAUTHENTICATED -> History.Outcome.FAIL;
      case UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED -> History.Outcome.UNCERTAIN;
      default -> {
        anomalies.add("unexpected-status", status.toString());
        yield History.Outcome.UNCERTAIN;
      }
    };
  }

  static String requestId(Message request) {
    return request instanceof DepositRequest r ? r.getRequestId()
        : request instanceof ConsumeRequest r ? r.getRequestId()
        : request instanceof TransferRequest r ? r.getRequestId()
        : request instanceof CreateHoldRequest r ? r.getRequestId()
        : request instanceof CaptureHoldRequest r ? r.getRequestId()
        : request instanceof ReleaseHoldRequest r ? r.getRequestId()
        : "";
  }

  /** The part of a response a replay or the recorded operation must repeat. */
  static String summary(Message response) {
    return response instanceof DepositResponse r ? "entry " + r.getEntrySequence()
        : response instanceof ConsumeResponse r ? "entry " + r.getEntrySequence()
        : response instanceof TransferResponse r ? "transfer " + r.getTransferId()
        : response instanceof CreateHoldResponse r ? "hold " + r.getHold().getHoldId()
        : response instanceof CaptureHoldResponse r ? "captured " + r.getHold().getHoldId() + " "
            + r.getHold().getCapturedAmount()
        : response instanceof ReleaseHoldResponse r ? "released " + r.getHold().getHoldId()
        : "";
  }

  private static String reason(StatusRuntimeException e) {
    var info = io.grpc.protobuf.StatusProto.fromThrowable(e);
    if (info == null) {
      return "";
    }
    return info.getDetailsList().stream().filter(d -> d.is(com.google.rpc.ErrorInfo.class)).findFirst()
        .map(d -> {
          try {
            return " " + d.unpack(com.google.rpc.ErrorInfo.class).getReason();
          } catch (com.google.protobuf.InvalidProtocolBufferException x) {
            return "";
          }
        }).orElse("");
  }

  /** Anomalies by type, with the first few examples of each. */
  static final class Anomalies {
    private final Map<String, List<String>> byType = new java.util.TreeMap<>();
    private final Map<String, Long> counts = new java.util.TreeMap<>();

    synchronized void add(String type, String example) {
      counts.merge(type, 1L, Long::sum);
      List<String> examples = byType.computeIfAbsent(type, k -> new ArrayList<>());
      if (examples.size() < 5) {
        examples.add(example);
      }
    }

    synchronized Map<String, Long> counts() {
      return Map.copyOf(counts);
    }

    synchronized Map<String, List<String>> examples() {
      return Map.copyOf(byType);
    }
  }
}
