package fortress.ledger.sim;

import fortress.cluster.v1.RingNode;
import fortress.core.ring.HoldIds;
import fortress.core.ring.Ring;
import fortress.core.ring.RingFile;
import fortress.ledger.Ownership;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;

/**
 * A deterministic simulation of a ledger cluster, in the spirit of FoundationDB's simulator and
 * TigerBeetle's VOPR: the real node code (writer, batch, two-phase commit coordinator, participant
 * and recovery, the ShardService glue, mutations and GetOperation) of several nodes, on in-memory
 * databases, driven by one seeded scheduler with a simulated clock and network. While the faults
 * run, messages between nodes (and to clients) are lost, duplicated, delayed past every timeout and
 * reordered; nodes crash at any step, also at the protocol's failpoints, and restart from their
 * committed state; writers stall past every timeout, so queues fill and refuse; commits fail before
 * landing or land with their answer lost; clocks jump. Clients retry with the same request_id,
 * reuse request_ids wrongly and call GetOperation at any moment. {@link Invariants} are checked
 * after every commit and answer. Then the faults stop and everything must drain.
 *
 * <p>One seed gives one run, step for step: a failing seed prints itself and replays exactly.
 */
public final class Simulation {
  static final String TENANT = "sim";

  /** The cluster and the fault model; times are simulated milliseconds. */
  public record Settings(int nodes, int accountsPerNode, int clients, long prepareTimeoutMs, long inDoubtTimeoutMs,
      long recoveryIntervalMs, long inFlightBoundMs, int recoveryBatchMax, int writerBatchSizeMax,
      int writerQueueDepthMax, long writerTailMs, long holdSweepIntervalMs, long faultMs, long drainMs, long clientTimeoutMs,
      double lossRate, double duplicateRate, double lateRate, long lateMsMax, double commitFaultRate,
      double failpointCrashRate, long nemesisIntervalMs, long stallMsMax, long downMsMax) {

    public static Settings defaults() {
      return new Settings(3, 3, 16, 500, 1_000, 100, 30_000, 3, 16, 32, 5, 200, 15_000, 60_000, 2_000,
          0.03, 0.02, 0.02, 4_000, 0.01, 0.002, 150, 4_000, 6_000);
    }
  }

  /** How a run ended. {@code violation} is null when every invariant held. */
  public record Result(long seed, long steps, long simulatedMs, String violation, Map<String, Long> counts,
      String digest) {
    public String replay() {
      return "mvn -B test -pl ledger-server -am -Dtest=SimulationTest -Dsurefire.failIfNoSpecifiedTests=false "
          + "-Dsimulation.seed=" + seed;
    }
  }

  final Scheduler scheduler = new Scheduler();
  final Settings settings;
  final Invariants invariants = new Invariants(this);
  private final long seed;
  private final Random random;
  private final Map<String, SimNode> nodes = new LinkedHashMap<>();
  private final Map<String, Ownership> ownership = new LinkedHashMap<>();
  private final Ring ring;
  private final Path ringFile;
  private final Map<String, Long> counts = new TreeMap<>();
  final List<String> accounts = new ArrayList<>();
  private final List<SimClient> clients = new ArrayList<>();
  boolean faults;
  boolean draining;

  private Simulation(long seed, Settings settings) {
    this.seed = seed;
    this.settings = settings;
    this.random = new Random(seed);
    fortress.cluster.v1.Ring.Builder spec = fortress.cluster.v1.Ring.newBuilder().setEpoch(1);
    for (int i = 1; i <= settings.nodes(); i++) {
      spec.addNodes(RingNode.newBuilder().setNodeId("ledger-" + i).setAddress("sim:" + i));
    }
    ring = Ring.of(spec.build());
    try {
      ringFile = Files.createTempFile("simulation-ring", ".txtpb");
      RingFile.write(ringFile, spec.build());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    for (RingNode n : ring.nodes()) {
      SimNode node = new SimNode(n.getNodeId(), this, random);
      node.store.landing = b -> invariants.beforeCommit(node, b);
      node.store.committed = b -> invariants.committed(node, b);
      node.store.refused = problem -> invariants.constraint(node, problem);
      node.store.commitFault = () -> commitFault();
      nodes.put(node.id, node);
      ownership.put(node.id, new Ownership(node.id, RingFile.open(ringFile)));
    }
    for (RingNode n : ring.nodes()) {
      for (int i = 0, found = 0; found < settings.accountsPerNode(); i++) {
        String candidate = "acct-" + i;
        if (ring.owner(TENANT, candidate).getNodeId().equals(n.getNodeId())) {
          accounts.add(candidate);
          found++;
        }
      }
    }
  }

  /** Runs one seed to its end, or to the first broken invariant. */
  public static Result run(long seed, Settings settings) {
    Simulation sim = new Simulation(seed, settings);
    try {
      return sim.run();
    } finally {
      try {
        Files.deleteIfExists(sim.ringFile);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  private Result run() {
    nodes.values().forEach(n -> n.start(ownership.get(n.id)));
    SimClient opener = new SimClient(-1, this, new Random(random.nextLong()));
    opener.openAccounts();
    if (!runWhile(() -> !opener.opened(), 30_000_000)) {
      return result("setup: accounts not opened within 30 s");
    }
    for (int i = 0; i < settings.clients(); i++) {
      SimClient c = new SimClient(i, this, new Random(random.nextLong()));
      clients.add(c);
      c.start();
    }
    faults = true;
    nemesis();
    liveness();
    long faultEnd = scheduler.nowMicros() + settings.faultMs() * 1000;
    if (!runWhile(() -> scheduler.nowMicros() < faultEnd, Long.MAX_VALUE)) {
      return result(null);
    }
    faults = false;
    draining = true;
    for (SimNode n : nodes.values()) {
      n.stalledUntilMicros = Math.min(n.stalledUntilMicros, scheduler.nowMicros());
      if (n.current == null) {
        n.start(ownership.get(n.id));
      }
    }
    long drainEnd = scheduler.nowMicros() + settings.drainMs() * 1000;
    runWhile(() -> scheduler.nowMicros() < drainEnd && !(clientsResolved() && invariants.unfinished() == null),
        Long.MAX_VALUE);
    if (invariants.violation() == null) {
      String left = invariants.unfinished();
      if (left != null || !clientsResolved()) {
        String client = clients.stream().map(SimClient::stuck).filter(x -> !x.isEmpty()).findFirst().orElse("");
        for (SimNode n : nodes.values()) {
          client += "; " + n.id + (n.current == null ? " down" : " serving=" + n.current.serving + " queue="
              + n.current.writer.queueDepth() + " stalled-until=" + n.stalledUntilMicros / 1000);
        }
        invariants.fail("drain", (left != null ? left : "a client's request is still uncertain: " + client) + " after "
            + settings.drainMs() + " ms without faults");
      }
    }
    return result(null);
  }

  /** Steps while {@code going} holds and no invariant broke; false if an invariant broke. */
  private boolean runWhile(java.util.function.BooleanSupplier going, long untilMicros) {
    while (invariants.violation() == null && going.getAsBoolean() && scheduler.nowMicros() < untilMicros) {
      if (!scheduler.step()) {
        break;
      }
    }
    return invariants.violation() == null;
  }

  private boolean clientsResolved() {
    return clients.stream().allMatch(SimClient::resolved);
  }

  private Result result(String setupProblem) {
    nodes.values().forEach(n -> counts.merge("crashes", (long) n.crashes, Long::sum));
    String violation = setupProblem != null ? setupProblem : invariants.violation();
    StringBuilder digest = new StringBuilder();
    for (SimNode n : nodes.values()) {
      digest.append(n.id).append(':').append(n.store.journal.size()).append(':');
      if (!n.store.journal.isEmpty()) {
        digest.append(java.util.HexFormat.of().formatHex(n.store.journal.get(n.store.journal.size() - 1).hash()));
      }
      digest.append(' ');
    }
    return new Result(seed, scheduler.steps(), scheduler.nowMillis(), violation, counts, digest.toString().trim());
  }

  /** Faults on a schedule: crashes, writer stalls, clock jumps. */
  private void nemesis() {
    scheduler.after(latencyMicros(settings.nemesisIntervalMs() * 500, settings.nemesisIntervalMs() * 1500), () -> {
      if (!faults) {
        return;
      }
      List<SimNode> all = new ArrayList<>(nodes.values());
      SimNode n = all.get(random.nextInt(all.size()));
      double u = random.nextDouble();
      long down = all.stream().filter(x -> x.current == null).count();
      if (u < 0.20 && n.current != null && down == 0) {
        crash(n, "nemesis");
      } else if (u < 0.45) {
        n.stall(latencyMicros(100_000, settings.stallMsMax() * 1000));
        count("stalls");
      } else if (u < 0.60) {
        n.jump(latencyMicros(0, 5_000_000) - (random.nextInt(4) == 0 ? 6_000_000 : 0));
        count("clock-jumps");
      }
      nemesis();
    });
  }

  /** Crashes a node and starts it again later from its committed state. */
  /** Whether a Prepare or Commit goes as its batched RPC (PrepareLegs, CommitLegs), as often as not. */
  boolean batchLegs() {
    boolean batched = random.nextBoolean();
    if (batched) {
      count("messages-batched");
    }
    return batched;
  }

  void crash(SimNode n, String why) {
    if (n.current != null && n.current.coordinator.finishing() > 0) {
      // Acknowledged commits whose DONE was still waiting for a ride: recovery must re-send them.
      counts.merge("finishes-lost-in-crash", (long) n.current.coordinator.finishing(), Long::sum);
    }
    n.crash();
    count("crashes-" + why);
    scheduler.after(latencyMicros(50_000, settings.downMsMax() * 1000), () -> {
      if (n.current == null) {
        n.start(ownership.get(n.id));
      }
    });
  }

  /** The failpoints of the real protocol code: while the faults run, any of them may crash the node. */
  void failpoint(SimNode node, String name) {
    if (faults && node.current != null && random.nextDouble() < settings.failpointCrashRate()) {
      crash(node, "failpoint");
      count("failpoint:" + name);
      throw new Crashed(name);
    }
  }

  /** Unwinds the crashed incarnation's code, as the end of its process would. */
  static final class Crashed extends RuntimeException {
    Crashed(String failpoint) {
      super("crashed at " + failpoint, null, false, false);
    }
  }

  /** Recovery must never starve: checked every 100 ms. */
  private void liveness() {
    scheduler.after(100_000, () -> {
      long window = (3 * settings.prepareTimeoutMs() + 5 * settings.recoveryIntervalMs() + 1_000) * 1000;
      invariants.undecidedTooLong(window);
      liveness();
    });
  }

  private MemoryStore.CommitFault commitFault() {
    if (!faults) {
      return MemoryStore.CommitFault.NONE;
    }
    double u = random.nextDouble();
    if (u < settings.commitFaultRate() / 2) {
      count("commits-lost-before");
      return MemoryStore.CommitFault.LOST_BEFORE;
    } else if (u < settings.commitFaultRate()) {
      count("commits-lost-after");
      return MemoryStore.CommitFault.LOST_AFTER;
    }
    return MemoryStore.CommitFault.NONE;
  }

  // The network's and clock's dice.

  boolean lose() {
    if (faults && random.nextDouble() < settings.lossRate()) {
      count("messages-lost");
      return true;
    }
    return false;
  }

  boolean duplicate() {
    if (faults && random.nextDouble() < settings.duplicateRate()) {
      count("messages-duplicated");
      return true;
    }
    return false;
  }

  /** A message's transit time: usually up to 3 ms, sometimes (late) past every timeout. */
  long messageDelayMicros() {
    if (faults && random.nextDouble() < settings.lateRate()) {
      count("messages-late");
      return latencyMicros(settings.prepareTimeoutMs() * 1000, settings.lateMsMax() * 1000);
    }
    return latencyMicros(100, 3_000);
  }

  long latencyMicros(long min, long max) {
    return min + (long) (random.nextDouble() * (max - min));
  }

  UUID uuid() {
    return SimNode.uuid(random);
  }

  void count(String what) {
    counts.merge(what, 1L, Long::sum);
  }

  SimNode node(String id) {
    return nodes.get(id);
  }

  Collection<SimNode> nodes() {
    return nodes.values();
  }

  /** The node owning an account, or a hold's account. */
  SimNode owner(String account, String hold) {
    long key = hold != null ? HoldIds.keyHash(hold).orElseThrow() : Ring.keyHash(TENANT, account);
    return nodes.get(ring.owner(key).getNodeId());
  }

  /** Runs seeds by hand: {@code --seeds=N --first-seed=S --steps=M} (stops at the first failure). */
  public static void main(String[] args) {
    long first = 1;
    long seeds = 10;
    long steps = 0;
    for (String a : args) {
      if (a.startsWith("--first-seed=")) {
        first = Long.parseLong(a.substring(13));
      } else if (a.startsWith("--seeds=")) {
        seeds = Long.parseLong(a.substring(8));
      } else if (a.startsWith("--steps=")) {
        steps = Long.parseLong(a.substring(8));
      }
    }
    long total = 0;
    for (long s = first; s < first + seeds || total < steps; s++) {
      Result r = run(s, Settings.defaults());
      total += r.steps();
      System.out.printf("seed %d: %d steps, %d simulated ms, %s%n", s, r.steps(), r.simulatedMs(),
          r.violation() == null ? "ok " + r.counts() : "BROKE " + r.violation() + "\n  replay: " + r.replay());
      if (r.violation() != null) {
        System.exit(1);
      }
    }
    System.out.println(total + " steps, no invariant broken");
  }
}
