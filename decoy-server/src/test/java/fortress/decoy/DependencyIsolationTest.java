package fortress.decoy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The decoy server faces attackers, so it must carry nothing internal: no other server module and
 * no internal contract, only the shadow contract it exports to (and the error vocabulary every
 * contract shares). The build writes the resolved
 * runtime dependencies to target/runtime-dependencies.txt; this test fails if they change.
 */
class DependencyIsolationTest {
  @Test
  void theOnlyFortressDependencies_areCore_theDecoyAndShadowContracts_andTheErrorVocabulary() throws Exception {
    List<String> fortress = Files.readAllLines(Path.of("target", "runtime-dependencies.txt")).stream()
        .map(String::trim)
        .filter(line -> line.startsWith("dev.fortress:"))
        .map(line -> line.split(":")[1])
        .sorted()
        .toList();
    assertThat(fortress).containsExactly("fortress-core", "fortress-proto-decoy", "fortress-proto-rpc", "fortress-proto-shadow");
  }

  @Test
  void noInternalContractOrServerIsOnTheClasspath() {
    for (String internal : List.of("fortress.ledger.v1.LedgerServiceGrpc", "fortress.shard.v1.ShardServiceGrpc",
        "fortress.cluster.v1.ClusterServiceGrpc", "fortress.ledger.LedgerServer", "fortress.proxy.ProxyServer",
        "fortress.shadow.ShadowServer")) {
      assertThatThrownBy(() -> Class.forName(internal)).as(internal).isInstanceOf(ClassNotFoundException.class);
    }
  }
}
