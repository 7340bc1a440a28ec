package fortress.example;

import fortress.client.FailedPreconditionException;
import fortress.client.FortressClient;
import fortress.client.FortressException;
import fortress.cluster.v1.GetClusterTotalsResponse;
import fortress.ledger.v1.Account;
import fortress.ledger.v1.CaptureHoldResponse;
import fortress.ledger.v1.CreateHoldResponse;
import fortress.ledger.v1.TransferResponse;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;

/**
 * A tour of the ledger through the Java SDK, as an application would use it: two accounts on
 * different nodes, a deposit, a cross-node transfer, a refused overdraft, a hold, and the
 * cluster's conservation check. Run it against the local cluster, with its development token:
 *
 * <pre>FORTRESS_TOKEN=$(cat .fortress/cluster/dev-token) java -jar clients/example/target/fortress-example.jar [host:port]</pre>
 *
 * <p>{@code FORTRESS_TENANT} names the tenant (default {@code acme}, the development token's); the
 * token needs the admin role too, for the ring and the totals.
 */
public final class LedgerTour {
  private LedgerTour() {}

  public static void main(String[] args) {
    if (args.length > 1 || (args.length == 1 && args[0].startsWith("-"))) {
      System.err.println("usage: FORTRESS_TOKEN=<jwt> java -jar fortress-example.jar [host:port]   "
          + "(default 127.0.0.1:50051; FORTRESS_TENANT defaults to acme)");
      System.exit(args.length == 1 && (args[0].equals("--help") || args[0].equals("-h")) ? 0 : 2);
    }
    String target = args.length == 1 ? args[0] : "127.0.0.1:50051";
    try {
      run(target, System.getenv().getOrDefault("FORTRESS_TENANT", "acme"), System.getenv("FORTRESS_TOKEN"),
          System.out);
    } catch (FortressException e) {
      System.err.println("tour failed: " + e.getMessage());
      System.exit(1);
    }
  }

  /**
   * Runs the tour against {@code target} as {@code tenant}, with fresh account names, sending
   * {@code token} (null for none); returns the final totals.
   */
  public static GetClusterTotalsResponse run(String target, String tenant, String token, PrintStream out) {
    FortressClient.Builder builder = FortressClient.forTarget(target).tenant(tenant);
    if (token != null && !token.isBlank()) {
      builder.bearerToken(token);
    }
    String run = UUID.randomUUID().toString().substring(0, 6);
    try (FortressClient ledger = builder.build()) {
      out.printf("tenant %s on %s%n", tenant, target);

      // Pick two account names that the ring places on different nodes: alice, and the first of 32
      // candidates for bob that lives elsewhere (with 2 nodes or more, all 32 on alice's node is a
      // chance of 2^-32 at most).
      String alice = "alice-" + run;
      List<String> candidates = IntStream.range(0, 32).mapToObj(i -> "bob-" + run + "-" + i).toList();
      List<String> names = new ArrayList<>(candidates);
      names.add(alice);
      Map<String, String> placed = ledger.placements(names.toArray(String[]::new));
      String bob = candidates.stream().filter(a -> !placed.get(a).equals(placed.get(alice))).findFirst()
          .orElseThrow(() -> new IllegalStateException("every account landed on one node; is this a cluster?"));
      out.printf("%s lives on %s, %s on %s%n", alice, placed.get(alice), bob, placed.get(bob));

      ledger.createAccount(alice);
      ledger.createAccount(bob);
      out.printf("deposit 1000 to %s: balance %d%n", alice, ledger.deposit(alice, 1000).getAccount().getBalance());

      TransferResponse moved = ledger.transfer(alice, bob, 250);
      out.printf("transfer 250 %s -> %s (two-phase commit %s): %s balance %d%n", alice, bob,
          moved.getTransferId(), alice, moved.getFromAccount().getBalance());
      Account credited = awaitBalance(ledger, bob, 250);
      out.printf("%s balance %d%n", bob, credited.getBalance());

      try {
        ledger.consume(bob, 10_000);
      } catch (FailedPreconditionException e) {
        out.printf("consume 10000 from %s refused: %s%n", bob, e.reason());
      }

      CreateHoldResponse hold = ledger.createHold(alice, 100, Duration.ofMinutes(5));
      out.printf("hold 100 on %s: available %d%n", alice, hold.getAccount().getAvailable());
      CaptureHoldResponse captured = ledger.captureHold(hold.getHold().getHoldId(), 60);
      out.printf("capture 60 of it: %s balance %d, held %d%n", alice, captured.getAccount().getBalance(),
          captured.getAccount().getHeld());

      GetClusterTotalsResponse totals = ledger.clusterTotals();
      out.printf("cluster: balance %d + in flight %d = deposited %d - consumed %d: conserved %s%n",
          totals.getBalance(), totals.getInFlightCredit(), totals.getDeposited(), totals.getConsumed(),
          totals.getConserved());
      return totals;
    }
  }

  /** A cross-node credit lands once the participant commits, moments after the transfer returns. */
  private static Account awaitBalance(FortressClient ledger, String account, long expected) {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    Account a = ledger.getAccount(account);
    while (a.getBalance() != expected && System.nanoTime() < deadline) {
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      a = ledger.getAccount(account);
    }
    return a;
  }
}
