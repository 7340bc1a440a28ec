package fortress.ledger.sim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Runs the simulation on fixed seeds (CI), or as asked:
 * {@code -Dsimulation.seed=S} replays one seed; {@code -Dsimulation.seeds=N} and
 * {@code -Dsimulation.first-seed=S} run N seeds from S; {@code -Dsimulation.steps=M} keeps going
 * until M steps in all have run.
 */
class SimulationTest {
  private static final long SEEDS_DEFAULT = 40;

  @Test
  void seeds_breakNoInvariant() {
    String one = System.getProperty("simulation.seed");
    long first = one != null ? Long.parseLong(one) : Long.getLong("simulation.first-seed", 1);
    long seeds = one != null ? 1 : Long.getLong("simulation.seeds", SEEDS_DEFAULT);
    long steps = Long.getLong("simulation.steps", 0);
    long total = 0;
    long ran = 0;
    for (long seed = first; ran < seeds || total < steps; seed++, ran++) {
      Simulation.Result r = Simulation.run(seed, Simulation.Settings.defaults());
      total += r.steps();
      System.out.printf("simulation seed %d: %d steps, %d simulated ms, %s%n", seed, r.steps(), r.simulatedMs(),
          r.violation() == null ? r.counts() : "BROKE " + r.violation());
      assertThat(r.violation()).as("seed %d broke an invariant; replay with: %s", seed, r.replay()).isNull();
    }
    System.out.printf("simulation: %d seeds, %d steps, no invariant broken%n", ran, total);
  }

  @Test
  void aSeed_replaysStepForStep() {
    Simulation.Result first = Simulation.run(7, Simulation.Settings.defaults());
    Simulation.Result again = Simulation.run(7, Simulation.Settings.defaults());
    assertThat(again.steps()).isEqualTo(first.steps());
    assertThat(again.simulatedMs()).isEqualTo(first.simulatedMs());
    assertThat(again.counts()).isEqualTo(first.counts());
    assertThat(again.digest()).as("every node's journal head").isEqualTo(first.digest());
  }
}
