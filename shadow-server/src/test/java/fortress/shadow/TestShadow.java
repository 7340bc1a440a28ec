package fortress.shadow;

import static fortress.core.rpc.TestCalls.await;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import fortress.core.security.Caller;
import fortress.core.security.Security;
import fortress.core.security.Tokens;
import fortress.core.store.TestPostgres;
import fortress.shadow.v1.*;
import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A shadow server on a fresh database of the shared test PostgreSQL, reached through a real stub.
 * With tokens on ({@link #withTokens}), {@link #stub} calls as an operator with the admin role and
 * {@link #as} calls as anyone else.
 */
public final class TestShadow implements AutoCloseable {
  public final ShadowServer server;
  public final ShadowServiceGrpc.ShadowServiceBlockingStub stub;
  public final String jdbcUrl;
  private final ManagedChannel channel;
  private final ECKey signingKey;

  /** A server without tokens (a local development server), with these extra flags. */
  public TestShadow(String... flags) {
    this(null, flags);
  }

  private TestShadow(ECKey signingKey, String... flags) {
    this.signingKey = signingKey;
    String name = "shadow-" + UUID.randomUUID();
    jdbcUrl = TestPostgres.newDatabase();
    List<String> args = new ArrayList<>(List.of("--jdbc-url=" + jdbcUrl, "--rollout-check-interval-ms=50",
        "--data-dir=" + Path.of("target", name)));
    if (signingKey != null) {
      args.add("--auth-jwks-file=" + jwks(signingKey));
    }
    args.addAll(Arrays.asList(flags));
    ShadowConfig config = ShadowConfig.parse(args.toArray(String[]::new), Map.of());
    try {
      server = ShadowServer.start(config, InProcessServerBuilder.forName(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    ShadowServiceGrpc.ShadowServiceBlockingStub plain = ShadowServiceGrpc.newBlockingStub(channel);
    stub = signingKey == null ? plain : plain.withInterceptors(Security.bearer(token("operator", null, Caller.ADMIN)));
  }

  /** A server that verifies ES256 tokens for the audience fortress-shadow, with these extra flags. */
  public static TestShadow withTokens(String... flags) {
    return new TestShadow(Tokens.newSigningKey(), flags);
  }

  private static Path jwks(ECKey key) {
    try {
      Path file = Files.createTempFile("shadow-jwks", ".json");
      Files.writeString(file, new JWKSet(key.toPublicJWK()).toString());
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A token of this server's issuer: for {@code subject}, in {@code tenant} (null for none), with these roles. */
  public String token(String subject, String tenant, String... roles) {
    return Tokens.sign(signingKey, subject, tenant, List.of(roles), List.of(Tokens.Policy.SHADOW.audience()),
        Duration.ofMinutes(10));
  }

  /** A stub calling with a token for {@code subject} in {@code tenant} (null for none) with these roles. */
  public ShadowServiceGrpc.ShadowServiceBlockingStub as(String subject, String tenant, String... roles) {
    return ShadowServiceGrpc.newBlockingStub(channel).withInterceptors(Security.bearer(token(subject, tenant, roles)));
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
