package fortress.core.ring;

import static org.assertj.core.api.Assertions.assertThat;

import fortress.cluster.v1.RingNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.constraints.UniqueElements;

class RingProperties {
  private static final int KEYS = 100_000;

  @Provide
  Arbitrary<String> nodeIds() {
    return Arbitraries.strings().withChars("abcdefghijklmnopqrstuvwxyz0123456789-").ofMinLength(1).ofMaxLength(20);
  }

  @Property(tries = 25)
  void loadSpreadsWithinSixPercentAcrossTenNodes(
      @ForAll @Size(10) @UniqueElements List<@From("nodeIds") String> ids) {
    Ring ring = ring(1, ids);
    Map<String, Integer> load = new HashMap<>();
    for (int k = 0; k < KEYS; k++) {
      load.merge(ring.owner("tenant", "account-" + k).getNodeId(), 1, Integer::sum);
    }
    double mean = (double) KEYS / ids.size();
    double variance = 0;
    for (String id : ids) {
      double d = load.getOrDefault(id, 0) - mean;
      variance += d * d;
    }
    double relativeSd = Math.sqrt(variance / ids.size()) / mean;
    assertThat(relativeSd).as("standard deviation of load over the mean").isLessThanOrEqualTo(0.06);
  }

  @Property(tries = 30)
  void addingANodeMovesOnlyKeysThatNowMapToIt(
      @ForAll @Size(min = 2, max = 12) @UniqueElements List<@From("nodeIds") String> ids,
      @ForAll @IntRange(min = 0, max = 11) int which) {
    String added = ids.get(which % ids.size());
    List<String> before = new ArrayList<>(ids);
    before.remove(added);
    Ring small = ring(1, before);
    Ring big = ring(2, ids);
    int moved = 0;
    for (int k = 0; k < 20_000; k++) {
      String was = small.owner("t", "a" + k).getNodeId();
      String now = big.owner("t", "a" + k).getNodeId();
      if (!was.equals(now)) {
        assertThat(now).as("a moved key goes to the added node").isEqualTo(added);
        moved++;
      }
    }
    assertThat(moved).as("the added node takes some keys").isPositive();
  }

  @Property(tries = 30)
  void removingANodeMovesOnlyItsOwnKeys(
      @ForAll @Size(min = 2, max = 12) @UniqueElements List<@From("nodeIds") String> ids,
      @ForAll @IntRange(min = 0, max = 11) int which) {
    String removed = ids.get(which % ids.size());
    List<String> after = new ArrayList<>(ids);
    after.remove(removed);
    Ring big = ring(1, ids);
    Ring small = ring(2, after);
    for (int k = 0; k < 20_000; k++) {
      String was = big.owner("t", "a" + k).getNodeId();
      String now = small.owner("t", "a" + k).getNodeId();
      if (!was.equals(now)) {
        assertThat(was).as("only the removed node's keys move").isEqualTo(removed);
      }
      assertThat(now).isNotEqualTo(removed);
    }
  }

  @Property(tries = 20)
  void theSameRingRoutesTheSameAfterARestart(
      @ForAll @Size(min = 1, max = 8) @UniqueElements List<@From("nodeIds") String> ids) throws Exception {
    Ring before = ring(3, ids);
    Path file = Files.createTempFile("ring", ".txtpb");
    try {
      RingFile.write(file, before.spec());
      List<String> shuffled = new ArrayList<>(ids);
      Collections.shuffle(shuffled);
      Ring reread = RingFile.read(file);
      Ring reordered = ring(3, shuffled);
      assertThat(reread.spec()).isEqualTo(before.spec());
      for (int k = 0; k < 5_000; k++) {
        String owner = before.owner("t", "a" + k).getNodeId();
        assertThat(reread.owner("t", "a" + k).getNodeId()).isEqualTo(owner);
        assertThat(reordered.owner("t", "a" + k).getNodeId()).as("member order does not matter").isEqualTo(owner);
      }
    } finally {
      Files.delete(file);
    }
  }

  static Ring ring(long epoch, List<String> ids) {
    fortress.cluster.v1.Ring.Builder spec = fortress.cluster.v1.Ring.newBuilder().setEpoch(epoch);
    int port = 50061;
    for (String id : ids) {
      spec.addNodes(RingNode.newBuilder().setNodeId(id).setAddress("127.0.0.1:" + port++));
    }
    return Ring.of(spec.build());
  }

}
