package fortress.ledger.journal;

import static org.assertj.core.api.Assertions.assertThat;

import fortress.ledger.v1.EntryKind;
import org.junit.jupiter.api.Test;

class ReplayTest {
  private static final int DEPOSIT = EntryKind.ENTRY_KIND_DEPOSIT_VALUE;
  private static final int HOLD = EntryKind.ENTRY_KIND_HOLD_CREATED_VALUE;

  @Test
  void apply_manyAccountsAcrossGrowth_keepsEachAccountsState() {
    Replay replay = new Replay();
    long sequence = 0;
    int accounts = 20_000;
    for (int round = 1; round <= 2; round++) {
      for (long ref = 1; ref <= accounts; ref++) {
        assertThat(replay.numbering(++sequence)).isNull();
        assertThat(replay.apply(sequence, ref * 7919, DEPOSIT, ref, ref * round, 0)).isNull();
      }
    }
    assertThat(replay.numbering(++sequence)).isNull();
    assertThat(replay.apply(sequence, 7919, HOLD, 1, 2, 1)).isNull();
    for (long ref = 1; ref <= accounts; ref++) {
      assertThat(replay.compare(ref * 7919)).containsExactly(ref * 2, ref == 1 ? 1 : 0);
    }
    assertThat(replay.compare(5)).isNull();
    assertThat(replay.uncompared()).isNull();
  }

  @Test
  void uncompared_accountNeverCompared_named() {
    Replay replay = new Replay();
    replay.apply(1, 10, DEPOSIT, 5, 5, 0);
    replay.apply(2, 11, DEPOSIT, 5, 5, 0);
    replay.compare(10);
    assertThat(replay.uncompared()).isEqualTo(11L);
  }

  @Test
  void apply_wrongRecordedBalanceOrUnknownKind_describesIt() {
    Replay replay = new Replay();
    assertThat(replay.apply(1, 10, DEPOSIT, 5, 6, 0)).isEqualTo("entry 1 records balance 6/held 0 but replay gives 5/0");
    assertThat(replay.apply(2, 10, 42, 5, 5, 0)).isEqualTo("entry 2 has unknown kind 42");
    assertThat(replay.apply(3, 10, HOLD, 5, 0, 5)).isEqualTo("entry 3 leaves a negative available balance");
    assertThat(replay.numbering(2)).isEqualTo("sequence 1 is missing (next entry is 2)");
  }
}
