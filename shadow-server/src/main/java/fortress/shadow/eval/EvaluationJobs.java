package fortress.shadow.eval;

import com.google.common.hash.Hashing;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import fortress.core.rpc.Rejection;
import fortress.shadow.rule.Attributes;
import fortress.shadow.rule.CompiledRule;
import fortress.shadow.rule.RuleCompiler;
import fortress.core.store.Database;
import fortress.shadow.store.EvaluationStore;
import fortress.shadow.store.RuleStore;
import fortress.shadow.store.SampleStore;
import fortress.shadow.v1.Evaluation;
import fortress.shadow.v1.EvaluationResult;
import fortress.shadow.v1.Rule;
import fortress.shadow.v1.RuleRef;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs evaluation jobs in the background: reads the dataset page by page, tallies both rules,
 * records progress after every page, and stores the verdict. A job is a pure function of its
 * spec and the dataset, so a job interrupted by a restart is simply run again. A dataset that
 * became attacker-supplied while it was read, and was not when the job started, fails the job:
 * a decoy's samples may be among those read, and nobody allowed them.
 */
public final class EvaluationJobs implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EvaluationJobs.class);
  static final int PAGE_SIZE = 5_000;

  private final Database database;
  private final RuleCompiler compiler;
  private final ExecutorService executor;
  /** Reads each job's next page while the job tallies the current one. */
  private final ExecutorService readers = Executors.newCachedThreadPool(
      new ThreadFactoryBuilder().setNameFormat("shadow-eval-read-%d").setDaemon(true).build());

  public EvaluationJobs(Database database, RuleCompiler compiler, ExecutorService executor) {
    this.database = database;
    this.compiler = compiler;
    this.executor = executor;
  }

  /** Queues the job; it runs when an evaluation thread is free. */
  public void start(String evaluationId) {
    executor.execute(() -> run(evaluationId));
  }

  /** Restarts every job a previous process left running. */
  public void resume() {
    List<String> left = database.inTransaction(EvaluationStore::running);
    if (!left.isEmpty()) {
      log.info("re-running {} evaluation(s) left unfinished: {}", left.size(), left);
      left.forEach(this::start);
    }
  }

  /**
   * Whether a sample is in a seeded subset that keeps about {@code limit} of {@code total}: a hash
   * of (seed, sample id) below the kept share. The same seed always keeps the same samples.
   */
  static boolean kept(long seed, long sampleId, long limit, long total) {
    if (limit <= 0 || limit >= total) {
      return true;
    }
    long hash = Hashing.murmur3_128().newHasher().putLong(seed).putLong(sampleId)
        .hash().asLong() >>> 11;
    return hash < (long) ((double) limit / total * (1L << 53));
  }

  private void run(String id) {
    try {
      Evaluation spec = database.inTransaction(c -> EvaluationStore.get(c, id));
      CompiledRule challenger = compile(spec.getChallenger());
      CompiledRule champion = spec.getChampion().getRuleId().isEmpty() ? null : compile(spec.getChampion());
      Tally championTally = new Tally(champion);
      Tally challengerTally = new Tally(challenger);
      long total = database.inTransaction(c -> SampleStore.get(c, spec.getDataset())).getSampleCount();
      long limit = spec.getSampleLimit();
      long done = 0;
      // The next page is read while this one is tallied, so the database and CEL overlap.
      Future<List<SampleStore.Row>> next = readPage(spec.getDataset(), 0);
      while (!Thread.currentThread().isInterrupted()) {
        List<SampleStore.Row> page = next.get();
        if (page.isEmpty()) {
          break;
        }
        next = readPage(spec.getDataset(), page.get(page.size() - 1).sampleId());
        for (SampleStore.Row row : page) {
          if (done < (limit > 0 ? limit : Long.MAX_VALUE) && kept(spec.getSeed(), row.sampleId(), limit, total)) {
            Attributes attributes = new Attributes(row.attributes());
            championTally.add(attributes, row.label());
            challengerTally.add(attributes, row.label());
            done++;
          }
        }
        long progress = done;
        database.inTransaction(c -> {
          EvaluationStore.progress(c, id, progress);
          return null;
        });
      }
      next.cancel(true);
      if (Thread.currentThread().isInterrupted()) {
        return;
      }
      if (!spec.getAttackerSupplied()
          && database.inTransaction(c -> SampleStore.get(c, spec.getDataset())).getAttackerSupplied()) {
        fail(id, new IllegalStateException("dataset " + spec.getDataset() + " received samples from a decoy while it "
            + "was evaluated, so they may be counted; start the evaluation again, with allow_attacker_supplied to "
            + "use them"));
        return;
      }
      EvaluationResult result = Verdicts.judge(championTally.matrix(), challengerTally.matrix(), spec.getPrior(),
          spec.getSettings());
      long evaluated = done;
      database.inTransaction(c -> {
        EvaluationStore.finish(c, id, evaluated, result);
        return null;
      });
      log.info("evaluation {} of {} on {}: {} over {} samples", id, spec.getChallenger().getVersion(),
          spec.getDataset(), result.getVerdict(), evaluated);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException e) {
      fail(id, e.getCause());
    } catch (Rejection | IllegalStateException e) {
      fail(id, e);
    }
  }

  private Future<List<SampleStore.Row>> readPage(String dataset, long afterId) {
    return readers.submit(() -> database.inTransaction(c -> SampleStore.page(c, dataset, afterId, PAGE_SIZE)));
  }

  private void fail(String id, Throwable e) {
    log.warn("evaluation {} failed: {}", id, e.getMessage());
    try {
      database.inTransaction(c -> {
        EvaluationStore.fail(c, id, e.getMessage());
        return null;
      });
    } catch (Rejection again) {
      log.warn("evaluation {} could not record its failure; it will run again at the next start", id);
    }
  }

  private CompiledRule compile(RuleRef ref) {
    Rule rule = database.inTransaction(c -> RuleStore.get(c, ref.getRuleId(), ref.getVersion()));
    return compiler.compiled(rule.getRuleId(), rule.getExpression(), rule.getAction());
  }

  @Override
  public void close() {
    executor.shutdownNow();
    readers.shutdownNow();
    try {
      executor.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
