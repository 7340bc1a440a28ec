package fortress.shadow;

import static fortress.core.rpc.TestCalls.await;

import fortress.core.store.TestPostgres;
import fortress.shadow.v1.*;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** A shadow server on a fresh database of the shared test PostgreSQL, reached through a real stub. */
public final class TestShadow implements AutoCloseable {
  public final ShadowServer server;
  public final ShadowServiceGrpc.ShadowServiceBlockingStub stub;
  public final String jdbcUrl;
  private final ManagedChannel channel;

  public TestShadow() {
    String name = "shadow-" + UUID.randomUUID();
    jdbcUrl = TestPostgres.newDatabase();
    ShadowConfig config = ShadowConfig.parse(new String[] {"--jdbc-url=" + jdbcUrl, "--rollout-check-interval-ms=50",
        "--data-dir=" + Path.of("target", name)}, Map.of());
    try {
      server = ShadowServer.start(config, InProcessServerBuilder.forName(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    stub = ShadowServiceGrpc.newBlockingStub(channel);
  }

  public static String id() {
    return UUID.randomUUID().toString();
  }

  public Rule createRule(String ruleId, String expression, Action action) {
    return stub.createRule(CreateRuleRequest.newBuilder().setRequestId(id()).setRuleId(ruleId)
        .setExpression(expression).setAction(action).build()).getRule();
  }

  public void record(String dataset, List<Sample> samples) {
    for (int from = 0; from < samples.size(); from += 10_000) {
      stub.recordSamples(RecordSamplesRequest.newBuilder().setRequestId(id()).setDataset(dataset)
          .addAllSamples(samples.subList(from, Math.min(samples.size(), from + 10_000))).build());
    }
  }

  /** Starts an evaluation and waits for it to finish. */
  public Evaluation evaluate(StartEvaluationRequest.Builder request) {
    Evaluation started = stub.startEvaluation(request.setRequestId(id()).build()).getEvaluation();
    Evaluation[] last = new Evaluation[1];
    await(() -> {
      last[0] = stub.getEvaluation(GetEvaluationRequest.newBuilder()
          .setEvaluationId(started.getEvaluationId()).build()).getEvaluation();
      return last[0].getState() != EvaluationState.EVALUATION_STATE_RUNNING;
    }, Duration.ofSeconds(60));
    return last[0];
  }

  public static RuleRef ref(Rule rule) {
    return RuleRef.newBuilder().setRuleId(rule.getRuleId()).setVersion(rule.getVersion()).build();
  }

  @Override
  public void close() {
    channel.shutdownNow();
    server.close();
  }
}
