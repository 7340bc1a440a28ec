package fortress.decoy.api;

import static fortress.decoy.TestDecoy.id;
import static fortress.core.rpc.TestCalls.info;
import static fortress.decoy.TestDecoy.invalid;
import static fortress.core.rpc.TestCalls.refused;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.core.rpc.Reflection;
import fortress.decoy.TestDecoy;
import fortress.decoy.generate.Generators;
import fortress.decoy.v1.*;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** DecoyService over gRPC on real PostgreSQL: generation, models, templates, and a clean refusal for every bad field. */
class DecoyApiTest {
  private static TestDecoy decoy;

  @BeforeAll
  static void start() {
    decoy = new TestDecoy("--generate-count-max=100000");
  }

  @AfterAll
  static void stop() {
    decoy.close();
  }

  private static List<GeneratedRecord> generate(GenerateRequest r) {
    List<GeneratedRecord> out = new ArrayList<>();
    Iterator<GenerateResponse> it = decoy.stub.generate(r);
    it.forEachRemaining(batch -> out.addAll(batch.getRecordsList()));
    return out;
  }

  private static Template.Builder template(String id) {
    return Template.newBuilder().setTemplateId(id).setMethod("GET").setPathPattern("/api/v1/items/{item}")
        .setStatus(200).setFamily(TemplateFamily.TEMPLATE_FAMILY_JSON_API)
        .setBody("{\"item\":\"{{path.item}}\",\"owner\":\"{{profile.name}}\"}");
  }

  @Test
  void generate_streamsTheRecordsAskedFor_inBatches_exactlyAsGeneratedInProcess() {
    List<GenerateResponse> batches = new ArrayList<>();
    decoy.stub.generate(GenerateRequest.newBuilder().setKind(RecordKind.RECORD_KIND_TRANSACTION).setCount(2_500)
        .setSeed(9).setBatchSize(1_000).build()).forEachRemaining(batches::add);
    assertThat(batches).extracting(GenerateResponse::getRecordsCount).containsExactly(1_000, 1_000, 500);
    List<GeneratedRecord> records = batches.stream().flatMap(b -> b.getRecordsList().stream()).toList();
    for (int i = 0; i < records.size(); i += 97) {
      assertThat(records.get(i)).isEqualTo(Generators.generate(RecordKind.RECORD_KIND_TRANSACTION, 9, "", i, null));
    }
    assertThat(records.stream().filter(r -> r.getTransaction().getFraud()).count()).isBetween(60L, 200L);

    List<GeneratedRecord> alice = generate(GenerateRequest.newBuilder().setKind(RecordKind.RECORD_KIND_USER_PROFILE).setCount(3)
        .setSeed(9).setEntityKey("alice").build());
    assertThat(alice).extracting(GeneratedRecord::getUserProfile).containsOnly(alice.get(0).getUserProfile());
    assertThat(generate(GenerateRequest.newBuilder().setKind(RecordKind.RECORD_KIND_USER_PROFILE).setCount(1)
        .setSeed(9).setEntityKey("alice").build()).get(0)).isEqualTo(alice.get(0));
  }

  @Test
  void trainText_makesAModelThatTextRecordsComeFrom() {
    String corpus = "The red fox jumps over the lazy dog. The lazy dog sleeps under the old oak tree. "
        + "The old oak tree stands on the green hill.";
    TrainTextResponse trained = decoy.stub.trainText(TrainTextRequest.newBuilder().setRequestId(id())
        .setModel("foxes").setCorpus(corpus).build());
    assertThat(trained.getWordCount()).isEqualTo(26);
    List<GeneratedRecord> text = generate(GenerateRequest.newBuilder().setKind(RecordKind.RECORD_KIND_TEXT).setCount(20)
        .setModel("foxes").build());
    for (GeneratedRecord r : text) {
      assertThat(r.getText().getModel()).isEqualTo("foxes");
      assertThat(r.getText().getText()).startsWith("The").endsWith(".");
      assertThat(corpus.split("\\s+")).contains(r.getText().getText().split("\\s+"));
    }
    assertThat(info(refused(() -> generate(GenerateRequest.newBuilder().setKind(RecordKind.RECORD_KIND_TEXT)
        .setCount(1).setModel("wolves").build()))).getReason()).isEqualTo("MODEL_NOT_FOUND");
  }

  @Test
  void fidelityReport_overGrpc_isWithinEveryThreshold() {
    GetFidelityReportResponse report = decoy.stub.getFidelityReport(GetFidelityReportRequest.newBuilder()
        .setSampleSize(20_000).setSeed(3).build());
    assertThat(report.getFiguresList()).extracting(FidelityFigure::getName).contains("ks_age", "ks_log_amount",
        "tv_category", "tv_hour", "fraud_rate", "log_error_rate");
    assertThat(report.getAllWithin()).as("%s", report).isTrue();
  }

  @Test
  void templates_createGetListDelete_withIdempotentReplays() {
    CreateTemplateRequest create = CreateTemplateRequest.newBuilder().setRequestId(id())
        .setTemplate(template("items")).build();
    Template created = decoy.stub.createTemplate(create).getTemplate();
    assertThat(created.getCreateTime().getSeconds()).isPositive();
    assertThat(decoy.stub.createTemplate(create).getTemplate()).isEqualTo(created);
    var exists = refused(() -> decoy.stub.createTemplate(create.toBuilder().setRequestId(id()).build()));
    assertThat(exists.getStatus().getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
    assertThat(info(exists).getReason()).isEqualTo("TEMPLATE_EXISTS");
    var reused = refused(() -> decoy.stub.createTemplate(create.toBuilder()
        .setTemplate(template("items").setStatus(201)).build()));
    assertThat(info(reused).getReason()).isEqualTo("REQUEST_ID_REUSED");

    assertThat(decoy.stub.getTemplate(GetTemplateRequest.newBuilder().setTemplateId("items").build()).getTemplate())
        .isEqualTo(created);
    for (int i = 0; i < 3; i++) {
      decoy.stub.createTemplate(CreateTemplateRequest.newBuilder().setRequestId(id())
          .setTemplate(template("page-" + i)).build());
    }
    List<String> ids = new ArrayList<>();
    String token = "";
    do {
      ListTemplatesResponse page = decoy.stub.listTemplates(ListTemplatesRequest.newBuilder().setPageSize(2)
          .setPageToken(token).build());
      page.getTemplatesList().forEach(t -> ids.add(t.getTemplateId()));
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    assertThat(ids).containsSubsequence("items", "page-0", "page-1", "page-2");

    DeleteTemplateRequest delete = DeleteTemplateRequest.newBuilder().setRequestId(id()).setTemplateId("items").build();
    assertThat(decoy.stub.deleteTemplate(delete).getTemplate()).isEqualTo(created);
    assertThat(decoy.stub.deleteTemplate(delete).getTemplate()).as("a replay answers the same").isEqualTo(created);
    assertThat(info(refused(() -> decoy.stub.getTemplate(GetTemplateRequest.newBuilder().setTemplateId("items")
        .build()))).getReason()).isEqualTo("TEMPLATE_NOT_FOUND");
    assertThat(info(refused(() -> decoy.stub.deleteTemplate(delete.toBuilder().setRequestId(id()).build())))
        .getReason()).isEqualTo("TEMPLATE_NOT_FOUND");
  }

  @Test
  void listTemplates_malformedPageToken_isRefusedNamingPageToken_beforeAnyQuery() {
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
    for (String id : List.of("token-a", "token-b")) {
      decoy.stub.createTemplate(CreateTemplateRequest.newBuilder().setRequestId(id()).setTemplate(template(id))
          .build());
    }
    String templatesToken = decoy.stub.listTemplates(ListTemplatesRequest.newBuilder().setPageSize(1).build())
        .getNextPageToken();
    assertThat(templatesToken).isNotEmpty();
    invalid("page_token", () -> decoy.stub.listInteractions(ListInteractionsRequest.newBuilder()
        .setPageToken(templatesToken).build()));
    List<String> malformed = List.of(
        "@@",
        "AA",
        b64.encodeToString("items\u0000".getBytes(StandardCharsets.UTF_8)),
        b64.encodeToString(new byte[] {1, 't', 0}),
        b64.encodeToString(new byte[] {1, 't', (byte) 0xC3, (byte) 0x28}),
        b64.encodeToString(new byte[] {9, 't', 'a'}),
        b64.encodeToString(new byte[] {1}),
        b64.encodeToString(("x".repeat(5_000)).getBytes(StandardCharsets.UTF_8)),
        b64.encodeToString("page-0".getBytes(StandardCharsets.UTF_8)) + "===",
        "cGFnZS0w\n",
        "x".repeat(100_000));
    for (String token : malformed) {
      invalid("page_token", () -> decoy.stub.listTemplates(ListTemplatesRequest.newBuilder().setPageSize(1)
          .setPageToken(token).build()));
      invalid("page_token", () -> decoy.stub.listInteractions(ListInteractionsRequest.newBuilder().setPageSize(1)
          .setPageToken(token).build()));
    }
  }

  /** grpcurl knows only what reflection tells it; that is enough to print a refusal's details. */
  @Test
  void aRefusalsDetails_areReadableThroughReflectionAlone() throws Exception {
    var missing = refused(() -> decoy.stub.getTemplate(GetTemplateRequest.newBuilder().setTemplateId("absent").build()));
    assertThat(Reflection.details(decoy.stub.getChannel(), missing)).singleElement().asString()
        .contains("\"reason\": \"TEMPLATE_NOT_FOUND\"", "\"domain\": \"decoy.fortress.dev\"");
  }

  @Test
  void badInput_onEveryField_isRefusedByName_andChangesNothing() {
    GenerateRequest.Builder gen = GenerateRequest.newBuilder().setKind(RecordKind.RECORD_KIND_LOG_LINE).setCount(1);
    invalid("kind", () -> generate(gen.clone().clearKind().build()));
    invalid("kind", () -> generate(gen.clone().setKindValue(99).build()));
    invalid("count", () -> generate(gen.clone().setCount(0).build()));
    invalid("count", () -> generate(gen.clone().setCount(-5).build()));
    invalid("count", () -> generate(gen.clone().setCount(100_001).build()));
    invalid("entity_key", () -> generate(gen.clone().setEntityKey("k".repeat(257)).build()));
    invalid("batch_size", () -> generate(gen.clone().setBatchSize(-1).build()));
    invalid("batch_size", () -> generate(gen.clone().setBatchSize(10_001).build()));
    invalid("model", () -> generate(gen.clone().setModel("Bad Name").build()));

    invalid("sample_size", () -> decoy.stub.getFidelityReport(GetFidelityReportRequest.newBuilder()
        .setSampleSize(10).build()));
    invalid("sample_size", () -> decoy.stub.getFidelityReport(GetFidelityReportRequest.newBuilder()
        .setSampleSize(2_000_000).build()));

    TrainTextRequest.Builder train = TrainTextRequest.newBuilder().setRequestId(id()).setModel("m")
        .setCorpus("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
            + "seventeen eighteen nineteen twenty.");
    invalid("request_id", () -> decoy.stub.trainText(train.clone().setRequestId("").build()));
    invalid("request_id", () -> decoy.stub.trainText(train.clone().setRequestId("has space").build()));
    invalid("model", () -> decoy.stub.trainText(train.clone().setModel("").build()));
    invalid("model", () -> decoy.stub.trainText(train.clone().setModel("default").build()));
    invalid("corpus", () -> decoy.stub.trainText(train.clone().setCorpus("too short.").build()));
    invalid("corpus", () -> decoy.stub.trainText(train.clone().setCorpus("word ".repeat(300_000)).build()));
    invalid("corpus", () -> decoy.stub.trainText(train.clone().setCorpus(train.getCorpus() + " a\u0000b.").build()));

    CreateTemplateRequest.Builder create = CreateTemplateRequest.newBuilder().setRequestId(id())
        .setTemplate(template("bad"));
    invalid("request_id", () -> decoy.stub.createTemplate(create.clone().setRequestId("").build()));
    invalid("template.template_id", () -> decoy.stub.createTemplate(create.clone()
        .setTemplate(template("Bad/Id")).build()));
    invalid("template.method", () -> decoy.stub.createTemplate(create.clone()
        .setTemplate(template("bad").setMethod("BREW")).build()));
    invalid("template.path_pattern", () -> decoy.stub.createTemplate(create.clone()
        .setTemplate(template("bad").setPathPattern("no-slash")).build()));
    invalid("template.path_pattern", () -> decoy.stub.createTemplate(create.clone()
        .setTemplate(template("bad").setPathPattern("/a/{x}/{x}")).build()));
    invalid("template.path_pattern", () -> decoy.stub.createTemplate(create.clone()
        .setTemplate(template("bad").setPathPattern("/" + "a".repeat(600))).build()));
    invalid("template.status", () -> decoy.stub.createTemplate(create.clone()
        .setTemplate(template("bad").setStatus(99)).build()));
    invalid("template.headers", () -> decoy.stub.createTemplate(create.clone()
        .setTemplate(template("bad").putHeaders("Content-Length", "5")).build()));
    invalid("template.headers", () -> decoy.stub.createTemplate(create.clone()
        .setTemplate(template("bad").putHeaders("X-Ok", "line\r\nInjected: 1")).build()));
    invalid("template.body", () -> decoy.stub.createTemplate(create.clone()
        .setTemplate(template("bad").setBody("{{profile.password}}")).build()));
    invalid("template.body", () -> decoy.stub.createTemplate(create.clone()
        .setTemplate(template("bad").setBody("{{path.missing}}")).build()));
    invalid("template.body", () -> decoy.stub.createTemplate(create.clone()
        .setTemplate(template("bad").setBody("x".repeat(70_000))).build()));
    invalid("template.family", () -> decoy.stub.createTemplate(create.clone()
        .setTemplate(template("bad").clearFamily()).build()));
    invalid("template.client_key", () -> decoy.stub.createTemplate(create.clone()
        .setTemplate(template("bad").setClientKey("cookie")).build()));
    invalid("template_id", () -> decoy.stub.getTemplate(GetTemplateRequest.newBuilder().setTemplateId("").build()));
    invalid("template_id", () -> decoy.stub.deleteTemplate(DeleteTemplateRequest.newBuilder().setRequestId(id())
        .setTemplateId("NOPE").build()));
    invalid("request_id", () -> decoy.stub.deleteTemplate(DeleteTemplateRequest.newBuilder()
        .setTemplateId("bad").build()));
    invalid("page_size", () -> decoy.stub.listTemplates(ListTemplatesRequest.newBuilder().setPageSize(-1).build()));
    invalid("page_size", () -> decoy.stub.listTemplates(ListTemplatesRequest.newBuilder().setPageSize(5_000).build()));
    invalid("page_token", () -> decoy.stub.listTemplates(ListTemplatesRequest.newBuilder().setPageToken("@@").build()));
    invalid("page_size", () -> decoy.stub.listInteractions(ListInteractionsRequest.newBuilder().setPageSize(-3)
        .build()));
    invalid("page_token", () -> decoy.stub.listInteractions(ListInteractionsRequest.newBuilder()
        .setPageToken("bm90LWFuLWlk").build()));
    invalid("client_ip", () -> decoy.stub.listInteractions(ListInteractionsRequest.newBuilder()
        .setClientIp("1".repeat(65)).build()));
    invalid("client_ip", () -> decoy.stub.listInteractions(ListInteractionsRequest.newBuilder()
        .setClientIp("10.0.0.1\u0000").build()));

    ExportInteractionsRequest.Builder export = ExportInteractionsRequest.newBuilder().setRequestId(id())
        .setDataset("attacks");
    invalid("request_id", () -> decoy.stub.exportInteractions(export.clone().setRequestId("").build()));
    invalid("dataset", () -> decoy.stub.exportInteractions(export.clone().setDataset("").build()));
    invalid("after_interaction_id", () -> decoy.stub.exportInteractions(export.clone()
        .setAfterInteractionId("x-1").build()));
    invalid("max_interactions", () -> decoy.stub.exportInteractions(export.clone().setMaxInteractions(-1).build()));
    var notConfigured = refused(() -> decoy.stub.exportInteractions(export.build()));
    assertThat(notConfigured.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(info(notConfigured).getReason()).isEqualTo("SHADOW_NOT_CONFIGURED");

    assertThat(info(refused(() -> decoy.stub.getTemplate(GetTemplateRequest.newBuilder().setTemplateId("bad")
        .build()))).getReason()).as("no refused template was stored").isEqualTo("TEMPLATE_NOT_FOUND");
    assertThat(info(refused(() -> generate(gen.clone().setKind(RecordKind.RECORD_KIND_TEXT).setModel("m").build())))
        .getReason()).as("no refused model was stored").isEqualTo("MODEL_NOT_FOUND");
  }
}
