package fortress.bench;

import fortress.shadow.ShadowConfig;
import fortress.shadow.ShadowServer;
import fortress.shadow.eval.Tally;
import fortress.shadow.rule.Attributes;
import fortress.shadow.rule.CompiledRule;
import fortress.shadow.rule.RuleCompiler;
import fortress.shadow.v1.Action;
import fortress.shadow.v1.CreateRuleRequest;
import fortress.shadow.v1.DecideRequest;
import fortress.shadow.v1.DeployRuleRequest;
import fortress.shadow.v1.Evaluation;
import fortress.shadow.v1.EvaluationState;
import fortress.shadow.v1.GetEvaluationRequest;
import fortress.shadow.v1.Label;
import fortress.shadow.v1.RecordSamplesRequest;
import fortress.shadow.v1.RequestAttributes;
import fortress.shadow.v1.Rule;
import fortress.shadow.v1.RuleRef;
import fortress.shadow.v1.Sample;
import fortress.shadow.v1.ShadowServiceGrpc;
import fortress.shadow.v1.StartEvaluationRequest;
import fortress.shadow.v1.StartRolloutRequest;
import fortress.shadow.v1.Verdict;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.stub.ClientCalls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;

/**
 * Load generator for the shadow server. Starts, in one process, a bare gRPC echo server (the
 * ceiling, same transport and handler thread count) and a shadow server on its own durable
 * embedded PostgreSQL, then measures:
 *
 * <ul>
 *   <li>Decide over loopback with only a champion deployed, and during a rollout (both versions
 *       evaluated on every call, disagreements queued), each against the echo at the same
 *       concurrency;
 *   <li>offline evaluation samples/s: the CEL tally alone in memory on one thread, against the same
 *       two rules written as plain Java predicates; and a whole StartEvaluation job reading the
 *       dataset from PostgreSQL, against the in-memory tally.
 * </ul>
 *
 * <pre>java -Xmx1g -cp benchmarks/target/benchmarks.jar fortress.bench.ShadowBench [--seconds=10]</pre>
 */
public final class ShadowBench {
  private static final String ECHO = "bare gRPC echo";
  private static final int[] IN_FLIGHT = {64, 256};
  /** The deployed champion: admin paths from one country. */
  private static final String CHAMPION = "path.startsWith('/admin') && country == 'XX'";
  /** The challenger: any fast client on an admin or well-known attack path, or a scanner's agent. */
  private static final String CHALLENGER = "(path.startsWith('/admin') || path.matches('^/(wp-login|phpmyadmin)'))"
      + " && requests_per_minute > 100 || user_agent.contains('sqlmap')";
  private static final Predicate<RequestAttributes> CHAMPION_JAVA =
      r -> r.getPath().startsWith("/admin") && r.getCountry().equals("XX");
  private static final java.util.regex.Pattern ATTACK_PATH = java.util.regex.Pattern.compile("^/(wp-login|phpmyadmin)");
  private static final Predicate<RequestAttributes> CHALLENGER_JAVA =
      r -> (r.getPath().startsWith("/admin") || ATTACK_PATH.matcher(r.getPath()).find())
          && r.getRequestsPerMinute() > 100 || r.getUserAgent().contains("sqlmap");

  private ShadowBench() {}

  public static void main(String[] args) throws Exception {
    fortress.core.Settings s = new fortress.core.Settings(args, System.getenv());
    int seconds = s.integer("seconds", 10, 1, 3600, "measured seconds per scenario");
    int warmup = s.integer("warmup-seconds", 3, 0, 600, "unmeasured seconds before each scenario");
    int samples = s.integer("samples", 200_000, 1_000, 10_000_000, "samples in the dataset the evaluations read");
    Flags.finish(s, args);

    List<Sample> dataset = samples(samples, 1);
    List<OfflineResult> offline = new ArrayList<>();
    RuleCompiler compiler = new RuleCompiler(10_000, 16);
    OfflineResult simpleJava = inMemory("simple rules as plain Java predicates (baseline)", dataset, seconds,
        warmup, r -> r.getCountry().equals("XX"), r -> r.getRequestsPerMinute() > 100);
    offline.add(simpleJava);
    offline.add(inMemoryCel("simple rules in CEL", simpleJava, dataset, seconds, warmup,
        compiler.compiled("bench", "country == 'XX'", Action.ACTION_DENY),
        compiler.compiled("bench", "requests_per_minute > 100", Action.ACTION_DENY)));
    OfflineResult plain = inMemory("the benchmark's rules as plain Java predicates (baseline)", dataset, seconds,
        warmup, CHAMPION_JAVA, CHALLENGER_JAVA);
    offline.add(plain);
    OfflineResult cel = inMemoryCel("the benchmark's rules in CEL", plain, dataset, seconds, warmup,
        compiler.compiled("bench", CHAMPION, Action.ACTION_DENY),
        compiler.compiled("bench", CHALLENGER, Action.ACTION_DENY));
    offline.add(cel);

    Path data = Files.createTempDirectory("fortress-shadow-bench");
    ExecutorService echoExecutor = Executors.newFixedThreadPool(ShadowConfig.SERVER_THREADS_DEFAULT);
    Server echo = EchoServer.start(echoExecutor);
    ShadowConfig config = ShadowConfig.parse(new String[] {"--grpc-port=0", "--metrics-port=0", "--data-dir=" + data,
        "--dataset-samples-max=" + Math.max(samples, 1_000_000)}, Map.of());
    try (ShadowServer server = ShadowServer.start(config)) {
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        server.close();
        ClosedLoop.deleteTree(data);
      }, "bench-shutdown"));
      ManagedChannel echoChannel = ClosedLoop.channel("127.0.0.1:" + echo.getPort());
      ManagedChannel shadowChannel = ClosedLoop.channel("127.0.0.1:" + server.port());
      var blocking = ShadowServiceGrpc.newBlockingStub(shadowChannel);
      var stub = ShadowServiceGrpc.newFutureStub(shadowChannel);

      System.err.printf("recording %d samples%n", samples);
      for (int from = 0; from < samples; from += 10_000) {
        blocking.recordSamples(RecordSamplesRequest.newBuilder().setRequestId(id()).setDataset("bench")
            .addAllSamples(dataset.subList(from, Math.min(samples, from + 10_000))).build());
      }
      Rule championRule = create(blocking, CHAMPION);
      Evaluation first = evaluate(blocking, ref(championRule));
      offline.add(job("StartEvaluation job, the champion alone (no champion yet)", 1, first, cel));
      blocking.deployRule(DeployRuleRequest.newBuilder().setRequestId(id()).setRule(ref(championRule)).build());
      Rule challengerRule = create(blocking, CHALLENGER);
      Evaluation second = evaluate(blocking, ref(challengerRule));
      offline.add(job("StartEvaluation job, champion and challenger", 2, second, cel));

      List<ClosedLoop.Result> results = new ArrayList<>();
      byte[] payload = decide().toByteArray();
      // Both servers' and the client's code paths are compiled before anything is measured.
      ClosedLoop.run("warm-up: echo (not reported)", 64, 1, Math.max(1, warmup), 0,
          () -> ClientCalls.futureUnaryCall(echoChannel.newCall(EchoServer.ECHO, CallOptions.DEFAULT), payload));
      ClosedLoop.run("warm-up: Decide (not reported)", 64, 1, Math.max(1, warmup), 0, () -> stub.decide(decide()));
      for (int inFlight : IN_FLIGHT) {
        results.add(ClosedLoop.run(ECHO, inFlight, 1, seconds, warmup,
            () -> ClientCalls.futureUnaryCall(echoChannel.newCall(EchoServer.ECHO, CallOptions.DEFAULT), payload)));
        results.add(ClosedLoop.run("Decide, champion only", inFlight, 1, seconds, warmup, () -> stub.decide(decide())));
      }
      blocking.startRollout(StartRolloutRequest.newBuilder().setRequestId(id()).setRule(ref(challengerRule)).build());
      for (int inFlight : IN_FLIGHT) {
        results.add(ClosedLoop.run("Decide during a rollout (both versions)", inFlight, 1, seconds, warmup,
            () -> stub.decide(decide())));
      }
      results.sort(java.util.Comparator.comparingInt(ClosedLoop.Result::inFlight));
      ClosedLoop.print(results, ECHO);
      printOffline(offline, samples);
      System.out.printf("%n(%d measured seconds per scenario; PostgreSQL fsync=on, synchronous_commit=on)%n",
          seconds);
      echoChannel.shutdownNow();
      shadowChannel.shutdownNow();
    } finally {
      echo.shutdownNow();
      echoExecutor.shutdownNow();
    }
  }

  /** Samples per second of one offline scenario, each sample run through {@code rules} rules. */
  record OfflineResult(String scenario, int rules, double samplesPerSecond, OfflineResult versus) {}

  /** Tallies both rules over the samples in memory on this thread, as an evaluation job does per sample. */
  private static OfflineResult inMemoryCel(String name, OfflineResult baseline, List<Sample> dataset, int seconds,
      int warmup, CompiledRule champion, CompiledRule challenger) {
    List<Attributes> attributes = dataset.stream().map(x -> new Attributes(x.getAttributes())).toList();
    double rate = loop(dataset.size(), seconds, warmup, () -> {
      Tally a = new Tally(champion);
      Tally b = new Tally(challenger);
      for (int j = 0; j < dataset.size(); j++) {
        a.add(attributes.get(j), dataset.get(j).getLabel());
        b.add(attributes.get(j), dataset.get(j).getLabel());
      }
      return a.matrix().getTruePositives() + b.matrix().getTruePositives();
    });
    return new OfflineResult(name, 2, rate, baseline);
  }

  private static OfflineResult inMemory(String name, List<Sample> dataset, int seconds, int warmup,
      Predicate<RequestAttributes> champion, Predicate<RequestAttributes> challenger) {
    double rate = loop(dataset.size(), seconds, warmup, () -> {
      long matches = 0;
      for (Sample sample : dataset) {
        matches += (champion.test(sample.getAttributes()) ? 1 : 0) + (challenger.test(sample.getAttributes()) ? 1 : 0);
      }
      return matches;
    });
    return new OfflineResult(name, 2, rate, null);
  }

  /**
   * Runs passes over the dataset for warmup then measured seconds; returns samples per second. The
   * matches each pass counts are summed and printed, so no pass can be optimized away.
   */
  private static double loop(int size, int seconds, int warmup, java.util.function.LongSupplier pass) {
    long matches = 0;
    long warmupEnd = System.nanoTime() + warmup * 1_000_000_000L;
    while (System.nanoTime() < warmupEnd) {
      matches += pass.getAsLong();
    }
    long start = System.nanoTime();
    long end = start + seconds * 1_000_000_000L;
    long passes = 0;
    while (System.nanoTime() < end) {
      matches += pass.getAsLong();
      passes++;
    }
    double rate = passes * (double) size / ((System.nanoTime() - start) / 1e9);
    System.err.printf("in-memory pass: %.0f samples/s (%d matches)%n", rate, matches);
    return rate;
  }

  private static OfflineResult job(String name, int rules, Evaluation e, OfflineResult inMemory) {
    double elapsed = seconds(e.getCompleteTime()) - seconds(e.getCreateTime());
    return new OfflineResult(name, rules, e.getSamplesDone() / elapsed, inMemory);
  }

  private static double seconds(com.google.protobuf.Timestamp t) {
    return t.getSeconds() + t.getNanos() / 1e9;
  }

  private static void printOffline(List<OfflineResult> results, int samples) {
    System.out.println();
    System.out.printf("Offline evaluation over %d samples, one thread%n%n", samples);
    System.out.println("| scenario | samples/s | rule evaluations/s | vs |");
    System.out.println("|---|---:|---:|---|");
    for (OfflineResult r : results) {
      String versus = r.versus() == null ? "—" : String.format("%.0f%% of %s", 100 * r.samplesPerSecond()
          / r.versus().samplesPerSecond(), r.versus().scenario());
      System.out.printf("| %s | %.0f | %.0f | %s |%n", r.scenario(), r.samplesPerSecond(),
          r.rules() * r.samplesPerSecond(), versus);
    }
  }

  private static Rule create(ShadowServiceGrpc.ShadowServiceBlockingStub stub, String expression) {
    return stub.createRule(CreateRuleRequest.newBuilder().setRequestId(id()).setRuleId("bench")
        .setExpression(expression).setAction(Action.ACTION_DENY).build()).getRule();
  }

  private static Evaluation evaluate(ShadowServiceGrpc.ShadowServiceBlockingStub stub, RuleRef challenger)
      throws InterruptedException {
    String evaluationId = stub.startEvaluation(StartEvaluationRequest.newBuilder().setRequestId(id())
        .setDataset("bench").setChallenger(challenger).build()).getEvaluation().getEvaluationId();
    while (true) {
      Evaluation e = stub.getEvaluation(GetEvaluationRequest.newBuilder().setEvaluationId(evaluationId).build())
          .getEvaluation();
      if (e.getState() != EvaluationState.EVALUATION_STATE_RUNNING) {
        if (e.getResult().getVerdict() != Verdict.VERDICT_PASS) {
          throw new IllegalStateException("the benchmark's rule did not pass: " + e.getResult().getReasonsList());
        }
        System.err.printf("evaluation of %s: %d samples, PASS%n", challenger.getVersion(), e.getSamplesDone());
        return e;
      }
      Thread.sleep(50);
    }
  }

  private static RuleRef ref(Rule rule) {
    return RuleRef.newBuilder().setRuleId(rule.getRuleId()).setVersion(rule.getVersion()).build();
  }

  private static String id() {
    return UUID.randomUUID().toString();
  }

  private static DecideRequest decide() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    return DecideRequest.newBuilder().setRequestKey(Long.toHexString(random.nextLong()))
        .setAttributes(attributes(new SplittableRandom(random.nextLong()), random.nextInt(10) == 0)).build();
  }

  /**
   * Labelled traffic: a tenth MALICIOUS (fast clients on admin and attack paths, some from country
   * XX, some with a scanner's agent), the rest BENIGN browsing.
   */
  static List<Sample> samples(int n, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    List<Sample> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      boolean malicious = random.nextInt(10) == 0;
      out.add(Sample.newBuilder().setAttributes(attributes(random, malicious))
          .setLabel(malicious ? Label.LABEL_MALICIOUS : Label.LABEL_BENIGN).build());
    }
    return out;
  }

  private static final String[] ATTACK_PATHS = {"/admin", "/admin/users", "/wp-login.php", "/phpmyadmin/index.php"};
  private static final String[] PATHS = {"/", "/home", "/products/42", "/cart", "/search", "/account"};

  static RequestAttributes attributes(SplittableRandom random, boolean malicious) {
    return RequestAttributes.newBuilder()
        .setIp("10." + random.nextInt(256) + "." + random.nextInt(256) + "." + random.nextInt(256))
        .setMethod(random.nextInt(5) == 0 ? "POST" : "GET")
        .setPath(malicious ? ATTACK_PATHS[random.nextInt(ATTACK_PATHS.length)] : PATHS[random.nextInt(PATHS.length)])
        .setCountry(malicious && random.nextBoolean() ? "XX" : "DE")
        .setUserAgent(malicious && random.nextInt(4) == 0 ? "sqlmap/1.8" : "Mozilla/5.0 (X11; Linux x86_64)")
        .setRequestsPerMinute(malicious ? 150 + random.nextInt(300) : random.nextInt(60))
        .setBytes(200 + random.nextInt(4_000))
        .putHeaders("accept", "*/*")
        .putHeaders("accept-language", "en-US")
        .build();
  }
}
