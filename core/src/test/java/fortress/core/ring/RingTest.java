package fortress.core.ring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import fortress.cluster.v1.RingNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RingTest {
  @Test
  void aNodeOfWeightTwoTakesAboutTwiceTheKeys() {
    Ring ring = Ring.of(fortress.cluster.v1.Ring.newBuilder().setEpoch(1)
        .addNodes(RingNode.newBuilder().setNodeId("a").setAddress("h:1").setWeight(2))
        .addNodes(RingNode.newBuilder().setNodeId("b").setAddress("h:2"))
        .build());
    Map<String, Integer> load = new HashMap<>();
    for (int k = 0; k < 60_000; k++) {
      load.merge(ring.owner("t", "k" + k).getNodeId(), 1, Integer::sum);
    }
    assertThat(load.get("a") / (double) load.get("b")).isBetween(1.8, 2.2);
    assertThat(ring.points()).isEqualTo(3 * Ring.VIRTUAL_NODES_DEFAULT);
  }

  @Test
  void aBadDescriptionIsRefusedWithEveryProblemNamed() {
    fortress.cluster.v1.Ring spec = fortress.cluster.v1.Ring.newBuilder()
        .addNodes(RingNode.newBuilder().setNodeId("Bad_Id").setAddress("nowhere"))
        .addNodes(RingNode.newBuilder().setNodeId("x").setAddress("h:1").setWeight(-1))
        .addNodes(RingNode.newBuilder().setNodeId("x").setAddress("h:2"))
        .build();
    assertThatThrownBy(() -> Ring.of(spec))
        .hasMessageContaining("epoch must be greater than 0")
        .hasMessageContaining("node_id 'Bad_Id'")
        .hasMessageContaining("address 'nowhere' must be host:port")
        .hasMessageContaining("weight must be")
        .hasMessageContaining("node_id 'x' appears twice");
    assertThatThrownBy(() -> Ring.of(fortress.cluster.v1.Ring.newBuilder().setEpoch(1).build()))
        .hasMessageContaining("at least one node");
  }

  @Test
  void holdIdsCarryTheirAccountsKeyHash() {
    long hash = Ring.keyHash("acme", "acme:main");
    String holdId = HoldIds.create(hash);
    assertThat(holdId).matches("hold-[0-9a-f]{16}-[0-9a-f-]{36}");
    assertThat(HoldIds.keyHash(holdId)).hasValue(hash);
    assertThat(HoldIds.keyHash("hold-nothex0000000000-" + "0".repeat(36))).isEmpty();
    assertThat(HoldIds.keyHash("tx-1234")).isEmpty();
    assertThat(HoldIds.keyHash("")).isEmpty();
  }

  @Test
  void theRingFileIsReadAgainOnlyWhenItChangesAndABadEditIsIgnored(@TempDir Path dir) throws Exception {
    Path path = dir.resolve("ring.txtpb");
    RingFile.write(path, RingProperties.ring(1, List.of("a", "b")).spec());
    RingFile file = RingFile.open(path);
    assertThat(file.current().epoch()).isEqualTo(1);

    RingFile.write(path, RingProperties.ring(2, List.of("a", "b", "c")).spec());
    Files.setLastModifiedTime(path, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 2000));
    assertThat(file.refresh().epoch()).isEqualTo(2);
    assertThat(file.current().nodes()).extracting(RingNode::getNodeId).containsExactly("a", "b", "c");

    Files.writeString(path, "epoch: 3\nnodes { node_id: \"a\" address: \"oops\" }\n");
    Files.setLastModifiedTime(path, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 4000));
    assertThat(file.refresh().epoch()).as("an invalid file leaves the ring in force").isEqualTo(2);

    Files.writeString(path, "not a ring {");
    assertThatThrownBy(() -> RingFile.open(path)).hasMessageContaining("text format");
  }
}
