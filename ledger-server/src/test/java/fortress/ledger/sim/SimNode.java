package fortress.ledger.sim;

import fortress.core.telemetry.Telemetry;
import fortress.ledger.Mutations;
import fortress.ledger.Ownership;
import fortress.ledger.api.ShardService;
import fortress.ledger.card.CardKeyring;
import fortress.ledger.card.CardVault;
import fortress.ledger.store.Reads;
import fortress.ledger.twopc.Coordinator;
import fortress.ledger.twopc.Failpoints;
import fortress.ledger.twopc.Participant;
import fortress.ledger.twopc.Recovery;
import fortress.ledger.write.Writer;
import java.util.Random;
import java.util.UUID;

/**
 * A simulated ledger node: its database ({@link MemoryStore}, which outlives crashes) and, while
 * it is up, one incarnation of the real node code (writer, coordinator, participant, recovery,
 * mutations, the ShardService glue) wired to the simulation's clock, network and scheduler. A
 * crash drops the incarnation whole; a restart builds a new one over the same database, which runs
 * its start-up recovery before it serves, as the real node does.
 */
final class SimNode {
  final String id;
  final MemoryStore store;
  final SimClock clock;
  private final Simulation sim;
  private final byte[] journalKey;
  private final byte[] cardKey;
  Incarnation current;
  /** The writer runs no batch before this (a stalled database). */
  long stalledUntilMicros;
  /** Since when the node has been serving with its writer free, for the liveness check; -1 when down. */
  long healthySinceMicros = -1;
  /** Until when the node's timeouts run late after its clock jumped back, for the liveness check. */
  long clockBehindUntilMicros;
  int crashes;

  SimNode(String id, Simulation sim, Random random) {
    this.id = id;
    this.sim = sim;
    this.store = new MemoryStore(id);
    this.clock = new SimClock(sim.scheduler);
    this.journalKey = bytes(random);
    this.cardKey = bytes(random);
  }

  private static byte[] bytes(Random random) {
    byte[] b = new byte[32];
    random.nextBytes(b);
    return b;
  }

  /** One run of the node's process. */
  final class Incarnation {
    boolean alive = true;
    boolean serving;
    final Writer writer;
    final Coordinator coordinator;
    final Recovery recovery;
    final Mutations mutations;
    final ShardService shard;

    Incarnation(Ownership ownership) {
      Simulation.Settings s = sim.settings;
      CardVault cards = new CardVault(id, CardKeyring.of("sim", cardKey));
      writer = new Writer(store, journalKey, cards, clock, clock.ticker(), sim::uuid, s.writerBatchSizeMax(),
          s.writerQueueDepthMax(), s.writerTailMs(), s.holdSweepIntervalMs(), 100, Telemetry.NOOP.meter());
      // A read runs a moment later, as a statement on another connection would; not after a crash.
      Reads reads = new Reads(store, r -> sim.scheduler.after(sim.latencyMicros(50, 2_000), () -> {
        if (alive) {
          r.run();
        }
      }));
      Failpoints failpoints = new Failpoints(name -> sim.failpoint(SimNode.this, name));
      SimNetwork network = new SimNetwork(sim, this);
      coordinator = new Coordinator(id, writer, network, reads, failpoints, sim::uuid, clock, s.prepareTimeoutMs(),
          Telemetry.NOOP);
      recovery = new Recovery(coordinator, writer, network, reads, clock, s.prepareTimeoutMs(), s.inDoubtTimeoutMs(),
          s.inFlightBoundMs(), s.recoveryBatchMax(), Telemetry.NOOP);
      mutations = new Mutations(writer, coordinator, ownership, reads);
      // The simulation never asks a node for ListInDoubt or GetTotals, the only calls that read SQL directly.
      shard = new ShardService(new Participant(writer, failpoints), coordinator, null, ownership, 3600, Runnable::run,
          clock, s.inFlightBoundMs());
    }
  }

  void start(Ownership ownership) {
    Incarnation incarnation = new Incarnation(ownership);
    current = incarnation;
    tickWriter(incarnation);
    incarnation.recovery.startUp().whenComplete((v, e) -> {
      if (incarnation.alive) {
        incarnation.serving = true;
        healthySinceMicros = Math.max(sim.scheduler.nowMicros(), stalledUntilMicros);
        scheduleRecovery(incarnation);
      }
    });
    // The real node stops waiting for its start-up round after a bound and serves anyway.
    sim.scheduler.after((2 * sim.settings.prepareTimeoutMs() + 1000) * 1000, () -> {
      if (incarnation.alive && !incarnation.serving) {
        incarnation.serving = true;
        healthySinceMicros = Math.max(sim.scheduler.nowMicros(), stalledUntilMicros);
        scheduleRecovery(incarnation);
      }
    });
  }

  /** The writer takes a batch about every millisecond while work waits (every 5 ms when idle), unless stalled. */
  private void tickWriter(Incarnation incarnation) {
    long delay = incarnation.writer.queueDepth() > 0 ? sim.latencyMicros(200, 1_500) : 5_000;
    sim.scheduler.after(delay, () -> {
      if (!incarnation.alive) {
        return;
      }
      if (sim.scheduler.nowMicros() >= stalledUntilMicros) {
        incarnation.writer.step();
      }
      tickWriter(incarnation);
    });
  }

  private void scheduleRecovery(Incarnation incarnation) {
    sim.scheduler.after(sim.settings.recoveryIntervalMs() * 1000, () -> {
      if (incarnation.alive) {
        incarnation.recovery.round();
        scheduleRecovery(incarnation);
      }
    });
  }

  /** Kills the process: nothing it had in memory survives, nothing it started goes on. */
  void crash() {
    if (current != null) {
      current.alive = false;
      current = null;
      healthySinceMicros = -1;
      crashes++;
    }
  }

  void stall(long micros) {
    stalledUntilMicros = Math.max(stalledUntilMicros, sim.scheduler.nowMicros() + micros);
    if (healthySinceMicros >= 0) {
      healthySinceMicros = stalledUntilMicros;
    }
  }

  /**
   * The node's clock jumps. After a jump back, the node's timeouts run late by as much, so the
   * liveness check gives it that long again.
   */
  void jump(long micros) {
    clock.jump(micros);
    if (micros < 0) {
      clockBehindUntilMicros = Math.max(clockBehindUntilMicros, sim.scheduler.nowMicros() - micros);
    }
  }

  /** Since when the node has been healthy for the liveness check: up, writer free, clock caught up; -1 if down. */
  long healthySince() {
    return healthySinceMicros < 0 ? -1 : Math.max(healthySinceMicros, clockBehindUntilMicros);
  }

  boolean serving() {
    return current != null && current.serving;
  }

  /** A UUID from the simulation's seed, in the form the real ids take. */
  static UUID uuid(Random random) {
    return new UUID((random.nextLong() & ~0xF000L) | 0x4000L, (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L);
  }
}
