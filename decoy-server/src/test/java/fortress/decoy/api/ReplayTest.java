package fortress.decoy.api;

import static fortress.core.rpc.TestCalls.info;
import static fortress.core.rpc.TestCalls.refused;
import static fortress.decoy.TestDecoy.id;
import static org.assertj.core.api.Assertions.assertThat;

import fortress.decoy.TestDecoy;
import fortress.decoy.v1.CreateTemplateRequest;
import fortress.decoy.v1.CreateTemplateResponse;
import fortress.decoy.v1.DeleteTemplateRequest;
import fortress.decoy.v1.DeleteTemplateResponse;
import fortress.decoy.v1.GenerateRequest;
import fortress.decoy.v1.GenerateResponse;
import fortress.decoy.v1.GetTemplateRequest;
import fortress.decoy.v1.RecordKind;
import fortress.decoy.v1.Template;
import fortress.decoy.v1.TemplateFamily;
import fortress.decoy.v1.TrainTextRequest;
import fortress.decoy.v1.TrainTextResponse;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A replayed mutation (same request_id, same body) answers its recorded response and changes
 * nothing: not the database, and not what the server holds in memory (the endpoints the decoy
 * listener serves, the text models Generate draws from), even when later requests changed them.
 */
class ReplayTest {
  private static final String FOXES = "The red fox jumps over the lazy dog. The lazy dog sleeps under the old oak "
      + "tree. The old oak tree stands on the green hill.";
  private static final String SHIPS = "A tall ship sails across the grey sea. The grey sea carries a tall ship home. "
      + "A small boat follows the tall ship across the bay.";

  private static TestDecoy decoy;
  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  @BeforeAll
  static void start() {
    decoy = new TestDecoy("--http-rate-per-client-per-second=100000", "--http-burst-per-client=100000");
  }

  @AfterAll
  static void stop() {
    decoy.close();
  }

  private static Template template(String id, String path, String body) {
    return Template.newBuilder().setTemplateId(id).setMethod("GET").setPathPattern(path).setStatus(200)
        .setFamily(TemplateFamily.TEMPLATE_FAMILY_JSON_API).setBody(body).build();
  }

  private HttpResponse<String> get(String path) throws Exception {
    return client.send(HttpRequest.newBuilder(URI.create(decoy.http() + path)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static List<String> text(String model) {
    List<String> out = new ArrayList<>();
    decoy.stub.generate(GenerateRequest.newBuilder().setKind(RecordKind.RECORD_KIND_TEXT).setModel(model)
        .setCount(10).setSeed(7).build()).forEachRemaining((GenerateResponse b) ->
        b.getRecordsList().forEach(r -> out.add(r.getText().getText())));
    return out;
  }

  @Test
  void createTemplate_replayedAfterTheTemplateWasDeleted_doesNotServeItAgain() throws Exception {
    CreateTemplateRequest create = CreateTemplateRequest.newBuilder().setRequestId(id())
        .setTemplate(template("replay-create", "/replay/create", "{\"v\":1}")).build();
    CreateTemplateResponse created = decoy.stub.createTemplate(create);
    assertThat(get("/replay/create").body()).isEqualTo("{\"v\":1}");
    decoy.stub.deleteTemplate(DeleteTemplateRequest.newBuilder().setRequestId(id()).setTemplateId("replay-create")
        .build());
    assertThat(get("/replay/create").statusCode()).isEqualTo(404);

    assertThat(decoy.stub.createTemplate(create)).as("the recorded response").isEqualTo(created);

    assertThat(get("/replay/create").statusCode()).as("the deleted endpoint stays gone").isEqualTo(404);
    assertThat(info(refused(() -> decoy.stub.getTemplate(GetTemplateRequest.newBuilder()
        .setTemplateId("replay-create").build()))).getReason()).isEqualTo("TEMPLATE_NOT_FOUND");
  }

  @Test
  void createTemplate_replayedAfterTheIdWasReusedForAnotherTemplate_keepsServingTheNewOne() throws Exception {
    CreateTemplateRequest first = CreateTemplateRequest.newBuilder().setRequestId(id())
        .setTemplate(template("replay-swap", "/replay/swap/old", "{\"v\":\"old\"}")).build();
    decoy.stub.createTemplate(first);
    decoy.stub.deleteTemplate(DeleteTemplateRequest.newBuilder().setRequestId(id()).setTemplateId("replay-swap")
        .build());
    decoy.stub.createTemplate(CreateTemplateRequest.newBuilder().setRequestId(id())
        .setTemplate(template("replay-swap", "/replay/swap/new", "{\"v\":\"new\"}")).build());

    decoy.stub.createTemplate(first);

    assertThat(get("/replay/swap/new").body()).isEqualTo("{\"v\":\"new\"}");
    assertThat(get("/replay/swap/old").statusCode()).isEqualTo(404);
    assertThat(decoy.stub.getTemplate(GetTemplateRequest.newBuilder().setTemplateId("replay-swap").build())
        .getTemplate().getPathPattern()).isEqualTo("/replay/swap/new");
  }

  @Test
  void deleteTemplate_replayedAfterTheTemplateWasCreatedAgain_keepsServingIt() throws Exception {
    decoy.stub.createTemplate(CreateTemplateRequest.newBuilder().setRequestId(id())
        .setTemplate(template("replay-delete", "/replay/delete", "{\"v\":1}")).build());
    DeleteTemplateRequest delete = DeleteTemplateRequest.newBuilder().setRequestId(id())
        .setTemplateId("replay-delete").build();
    DeleteTemplateResponse deleted = decoy.stub.deleteTemplate(delete);
    decoy.stub.createTemplate(CreateTemplateRequest.newBuilder().setRequestId(id())
        .setTemplate(template("replay-delete", "/replay/delete", "{\"v\":2}")).build());
    assertThat(get("/replay/delete").body()).isEqualTo("{\"v\":2}");

    assertThat(decoy.stub.deleteTemplate(delete)).as("the recorded response").isEqualTo(deleted);

    assertThat(get("/replay/delete").body()).as("the re-created endpoint is still served").isEqualTo("{\"v\":2}");
    assertThat(decoy.stub.getTemplate(GetTemplateRequest.newBuilder().setTemplateId("replay-delete").build())
        .getTemplate().getBody()).isEqualTo("{\"v\":2}");
  }

  @Test
  void trainText_replayedAfterTheModelWasRetrained_keepsTheNewModel() {
    TrainTextRequest foxes = TrainTextRequest.newBuilder().setRequestId(id()).setModel("replayed")
        .setCorpus(FOXES).build();
    TrainTextResponse first = decoy.stub.trainText(foxes);
    List<String> foxText = text("replayed");
    decoy.stub.trainText(TrainTextRequest.newBuilder().setRequestId(id()).setModel("replayed").setCorpus(SHIPS)
        .build());
    List<String> shipText = text("replayed");
    assertThat(shipText).isNotEqualTo(foxText);

    assertThat(decoy.stub.trainText(foxes)).as("the recorded response").isEqualTo(first);

    assertThat(text("replayed")).as("Generate still draws from the retrained model").isEqualTo(shipText);
  }
}
