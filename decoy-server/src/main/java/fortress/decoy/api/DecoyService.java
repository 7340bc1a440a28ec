package fortress.decoy.api;

import fortress.core.rpc.Fields;
import fortress.core.rpc.Rejection;
import fortress.core.rpc.Reply;
import fortress.core.store.Database;
import fortress.core.store.Rows;
import fortress.decoy.capture.InteractionStore;
import fortress.decoy.fidelity.Fidelity;
import fortress.decoy.generate.Generators;
import fortress.decoy.generate.MarkovText;
import fortress.decoy.generate.Seeds;
import fortress.decoy.template.Endpoint;
import fortress.decoy.template.Endpoints;
import fortress.decoy.v1.*;
import fortress.decoy.v1.ErrorReason;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The gRPC glue of DecoyService: validates, runs the work, and maps every failure to a clean status. */
public final class DecoyService extends DecoyServiceGrpc.DecoyServiceImplBase {
  /** The most bytes of interactions one ListInteractions page carries. */
  static final int LIST_PAGE_BYTES_MAX = 1 << 20;

  private static final Logger log = LoggerFactory.getLogger(DecoyService.class);
  private static final int ON_READY_THRESHOLD_BYTES = 4 * 1024 * 1024;

  /** Request limits from the configuration. */
  public record Limits(long generateCountMax, int pageSizeDefault, int pageSizeMax) {}

  private final Database database;
  private final Endpoints endpoints;
  private final Map<String, MarkovText> models = new ConcurrentHashMap<>();
  /**
   * Held by a template or model mutation from its transaction to its change in memory, so the
   * served endpoints and the models change in the order the database committed.
   */
  private final Object mutations = new Object();
  private final Export export;
  private final Limits limits;

  public DecoyService(Database database, Endpoints endpoints, Export export, Limits limits) {
    this.database = database;
    this.endpoints = endpoints;
    this.export = export;
    this.limits = limits;
  }

  /** Loads the stored templates and text models; called once at start. */
  public void load() {
    models.put(MarkovText.BUILT_IN, MarkovText.builtIn());
    database.inTransaction(c -> DecoyStore.models(c)).forEach((name, corpus) ->
        models.put(name, MarkovText.train(name, corpus)));
    String after = "";
    while (true) {
      String from = after;
      List<Template> page = database.inTransaction(c -> DecoyStore.templatesAfter(c, from, 1_000));
      if (page.isEmpty()) {
        break;
      }
      page.forEach(endpoints::put);
      after = page.get(page.size() - 1).getTemplateId();
    }
  }

  @Override
  public void generate(GenerateRequest r, StreamObserver<GenerateResponse> out) {
    Generation generation;
    try {
      generation = generation(r);
    } catch (Rejection e) {
      out.onError(e.toStatus());
      return;
    }
    ServerCallStreamObserver<GenerateResponse> call = (ServerCallStreamObserver<GenerateResponse>) out;
    // Batches go out only while the transport can take them: a slow reader slows generation.
    Runnable drain = new Runnable() {
      private boolean finished;

      @Override
      public void run() {
        while (!finished && call.isReady() && !call.isCancelled()) {
          if (generation.remaining() == 0) {
            finished = true;
            call.onCompleted();
            return;
          }
          call.onNext(generation.next());
        }
      }
    };
    call.setOnCancelHandler(() -> log.debug("Generate cancelled by the client"));
    // The default threshold (32 KiB) is smaller than one batch, so every batch would wait for the
    // transport to drain; a few batches may queue instead.
    call.setOnReadyThreshold(ON_READY_THRESHOLD_BYTES);
    call.setOnReadyHandler(drain);
    drain.run();
  }

  private Generation generation(GenerateRequest r) {
    if (r.getKind() == RecordKind.RECORD_KIND_UNSPECIFIED || r.getKind() == RecordKind.UNRECOGNIZED) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, "kind", "must be USER_PROFILE, TRANSACTION, LOG_LINE or TEXT");
    }
    if (r.getCount() < 1 || r.getCount() > limits.generateCountMax()) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, "count", "must be 1-" + limits.generateCountMax());
    }
    if (r.getEntityKey().length() > Checks.ENTITY_KEY_LENGTH_MAX) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, "entity_key", "must be at most " + Checks.ENTITY_KEY_LENGTH_MAX + " characters");
    }
    int batch = (int) Checks.range("batch_size", r.getBatchSize(), 1, Checks.BATCH_SIZE_MAX,
        Checks.BATCH_SIZE_DEFAULT);
    MarkovText text = null;
    if (r.getKind() == RecordKind.RECORD_KIND_TEXT || !r.getModel().isEmpty()) {
      text = model(r.getModel().isEmpty() ? MarkovText.BUILT_IN : r.getModel());
    }
    return new Generation(r.getKind(), r.getSeed(), r.getEntityKey(), r.getCount(), batch, text);
  }

  private MarkovText model(String name) {
    Checks.name("model", name);
    MarkovText model = models.get(name);
    if (model == null) {
      throw new Rejection(ErrorReason.MODEL_NOT_FOUND, "model " + name + " does not exist; train it with TrainText",
          Map.of("model", name));
    }
    return model;
  }

  /** One Generate call's position; used only from that call's serialized callbacks. */
  private static final class Generation {
    private final RecordKind kind;
    private final long seed;
    private final String entityKey;
    private final long entityHash;
    private final long count;
    private final int batch;
    private final MarkovText text;
    private long index;

    Generation(RecordKind kind, long seed, String entityKey, long count, int batch, MarkovText text) {
      this.kind = kind;
      this.seed = seed;
      this.entityKey = entityKey;
      this.entityHash = entityKey.isEmpty() ? 0 : Seeds.entity(entityKey);
      this.count = count;
      this.batch = batch;
      this.text = text;
    }

    long remaining() {
      return count - index;
    }

    GenerateResponse next() {
      GenerateResponse.Builder b = GenerateResponse.newBuilder();
      long end = Math.min(count, index + batch);
      for (; index < end; index++) {
        Generators.add(b.addRecordsBuilder(), kind, seed, entityKey, entityHash, index, text);
      }
      return b.build();
    }
  }

  @Override
  public void getFidelityReport(GetFidelityReportRequest r, StreamObserver<GetFidelityReportResponse> out) {
    reply(out, () -> {
      long n = Checks.range("sample_size", r.getSampleSize(), Checks.FIDELITY_SAMPLE_MIN, Checks.FIDELITY_SAMPLE_MAX,
          Checks.FIDELITY_SAMPLE_DEFAULT);
      return Fidelity.report((int) n, r.getSeed());
    });
  }

  @Override
  public void trainText(TrainTextRequest r, StreamObserver<TrainTextResponse> out) {
    reply(out, () -> {
      Checks.requestId(r.getRequestId());
      Checks.name("model", r.getModel());
      if (r.getModel().equals(MarkovText.BUILT_IN)) {
        throw Rejection.invalid(ErrorReason.INVALID_FIELD, "model", "\"default\" is the built-in model and cannot be replaced");
      }
      if (r.getCorpus().getBytes(StandardCharsets.UTF_8).length > Checks.CORPUS_BYTES_MAX) {
        throw Rejection.invalid(ErrorReason.INVALID_FIELD, "corpus", "must be at most " + Checks.CORPUS_BYTES_MAX + " bytes");
      }
      Fields.text("corpus", r.getCorpus(), Checks.CORPUS_BYTES_MAX, ErrorReason.INVALID_FIELD);
      MarkovText model;
      try {
        model = MarkovText.train(r.getModel(), r.getCorpus());
      } catch (IllegalArgumentException e) {
        throw Rejection.invalid(ErrorReason.INVALID_FIELD, "corpus", e.getMessage() + " and one whole sentence");
      }
      synchronized (mutations) {
        Operations.Outcome<TrainTextResponse> outcome = database.inTransaction(c -> Operations.once(c,
            r.getRequestId(), r, TrainTextResponse.parser(), () -> {
              DecoyStore.putModel(c, r.getModel(), r.getCorpus());
              return TrainTextResponse.newBuilder().setModel(r.getModel()).setWordCount(model.wordCount())
                  .setStateCount(model.stateCount()).build();
            }));
        if (outcome.applied()) {
          models.put(r.getModel(), model);
        }
        return outcome.response();
      }
    });
  }

  @Override
  public void createTemplate(CreateTemplateRequest r, StreamObserver<CreateTemplateResponse> out) {
    reply(out, () -> {
      Checks.requestId(r.getRequestId());
      Checks.name("template.template_id", r.getTemplate().getTemplateId());
      Template t = r.getTemplate().toBuilder().clearCreateTime().build();
      Endpoint.compile("template", t);
      synchronized (mutations) {
        Operations.Outcome<CreateTemplateResponse> outcome = database.inTransaction(c -> Operations.once(c,
            r.getRequestId(), r, CreateTemplateResponse.parser(), () -> {
              if (!DecoyStore.insertTemplate(c, t)) {
                throw new Rejection(ErrorReason.TEMPLATE_EXISTS, "template " + t.getTemplateId() + " already exists; "
                    + "delete it first to replace it", Map.of("template_id", t.getTemplateId()));
              }
              return CreateTemplateResponse.newBuilder().setTemplate(DecoyStore.template(c, t.getTemplateId())
                  .orElseThrow()).build();
            }));
        if (outcome.applied()) {
          endpoints.put(outcome.response().getTemplate());
        }
        return outcome.response();
      }
    });
  }

  @Override
  public void getTemplate(GetTemplateRequest r, StreamObserver<GetTemplateResponse> out) {
    reply(out, () -> {
      Checks.name("template_id", r.getTemplateId());
      Template t = database.inTransaction(c -> DecoyStore.template(c, r.getTemplateId()))
          .orElseThrow(() -> notFound(r.getTemplateId()));
      return GetTemplateResponse.newBuilder().setTemplate(t).build();
    });
  }

  @Override
  public void listTemplates(ListTemplatesRequest r, StreamObserver<ListTemplatesResponse> out) {
    reply(out, () -> {
      int size = Checks.pageSize(r.getPageSize(), limits.pageSizeDefault(), limits.pageSizeMax());
      String after = r.getPageToken().isEmpty() ? "" : PageTokens.templateAfter(r.getPageToken());
      List<Template> page = database.inTransaction(c -> DecoyStore.templatesAfter(c, after, size + 1));
      ListTemplatesResponse.Builder b = ListTemplatesResponse.newBuilder()
          .addAllTemplates(page.subList(0, Math.min(size, page.size())));
      if (page.size() > size) {
        b.setNextPageToken(PageTokens.templates(page.get(size - 1).getTemplateId()));
      }
      return b.build();
    });
  }

  @Override
  public void deleteTemplate(DeleteTemplateRequest r, StreamObserver<DeleteTemplateResponse> out) {
    reply(out, () -> {
      Checks.requestId(r.getRequestId());
      Checks.name("template_id", r.getTemplateId());
      synchronized (mutations) {
        Operations.Outcome<DeleteTemplateResponse> outcome = database.inTransaction(c -> Operations.once(c,
            r.getRequestId(), r, DeleteTemplateResponse.parser(), () -> {
              Template t = DecoyStore.template(c, r.getTemplateId()).orElseThrow(() -> notFound(r.getTemplateId()));
              DecoyStore.deleteTemplate(c, r.getTemplateId());
              return DeleteTemplateResponse.newBuilder().setTemplate(t).build();
            }));
        if (outcome.applied()) {
          endpoints.remove(r.getTemplateId());
        }
        return outcome.response();
      }
    });
  }

  @Override
  public void listInteractions(ListInteractionsRequest r, StreamObserver<ListInteractionsResponse> out) {
    reply(out, () -> {
      int size = Checks.pageSize(r.getPageSize(), limits.pageSizeDefault(), limits.pageSizeMax());
      Fields.text("client_ip", r.getClientIp(), 64, ErrorReason.INVALID_FIELD);
      long before = r.getPageToken().isEmpty() ? Long.MAX_VALUE : PageTokens.interactionBefore(r.getPageToken());
      List<Interaction> page = database.inTransaction(c -> InteractionStore.newest(c, before,
          r.getClientIp(), size + 1));
      // A page is at most page_size interactions and LIST_PAGE_BYTES_MAX bytes (at least one
      // interaction), so a page of the largest captured requests still fits a client's 4 MiB limit.
      ListInteractionsResponse.Builder b = ListInteractionsResponse.newBuilder();
      long bytes = 0;
      int taken = 0;
      while (taken < Math.min(size, page.size())) {
        Interaction next = page.get(taken);
        bytes += next.getSerializedSize() + 8;
        if (taken > 0 && bytes > LIST_PAGE_BYTES_MAX) {
          break;
        }
        b.addInteractions(next);
        taken++;
      }
      if (taken < page.size()) {
        long last = InteractionStore.number(page.get(taken - 1).getInteractionId());
        b.setNextPageToken(PageTokens.interactions(last));
      }
      return b.build();
    });
  }

  @Override
  public void exportInteractions(ExportInteractionsRequest r, StreamObserver<ExportInteractionsResponse> out) {
    reply(out, () -> {
      Checks.requestId(r.getRequestId());
      Checks.name("dataset", r.getDataset());
      long after = r.getAfterInteractionId().isEmpty() ? 0 : Rows.number(InteractionStore.PREFIX,
          r.getAfterInteractionId()).orElseThrow(() -> Rejection.invalid(ErrorReason.INVALID_FIELD, "after_interaction_id",
          "must be an interaction_id such as i-42"));
      long max = Checks.range("max_interactions", r.getMaxInteractions(), 1, Checks.EXPORT_MAX, Checks.EXPORT_DEFAULT);
      return export.run(r, after, max);
    });
  }

  private static Rejection notFound(String templateId) {
    return new Rejection(ErrorReason.TEMPLATE_NOT_FOUND, "template " + templateId + " does not exist",
        Map.of("template_id", templateId));
  }

  /** Runs a handler and answers with its response or its status. */
  private static <T> void reply(StreamObserver<T> out, Reply.Handler<T> handler) {
    Reply.unary(out, handler, () -> new Rejection(ErrorReason.OUTCOME_UNKNOWN, "the decoy server could not "
        + "complete the call; retry with the same request_id").toStatus());
  }
}
