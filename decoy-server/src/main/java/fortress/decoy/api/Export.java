package fortress.decoy.api;

import static com.google.common.base.Preconditions.checkState;

import com.google.common.hash.Hashing;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import fortress.core.rpc.Rejection;
import fortress.core.store.Database;
import fortress.decoy.capture.InteractionStore;
import fortress.decoy.v1.ErrorReason;
import fortress.decoy.v1.ExportInteractionsRequest;
import fortress.decoy.v1.ExportInteractionsResponse;
import fortress.decoy.v1.Interaction;
import fortress.rpc.ErrorReasons;
import fortress.rpc.v1.Effect;
import fortress.shadow.v1.RecordSamplesRequest;
import fortress.shadow.v1.RecordSamplesResponse;
import fortress.shadow.v1.Sample;
import fortress.shadow.v1.ShadowServiceGrpc;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends recorded interactions to the shadow server as MALICIOUS samples. An export is bounded at
 * its first attempt (the newest interaction then) and records its progress after every page, so
 * a retry with the same request_id resumes where it stopped; each page carries its own request_id
 * (the export's plus the page's first interaction), so a page the shadow server already stored is
 * not stored twice. A page is a pure function of where it starts, so a retry sends the same page:
 * it holds at most {@link #PAGE_SAMPLES_MAX} samples and {@link #PAGE_BYTES_MAX} bytes serialized,
 * each sample capped by {@link Samples}.
 *
 * <p>A page the shadow server could not take now (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED,
 * CANCELLED) stops the export with SHADOW_UNAVAILABLE: send it again to resume. Any other refusal
 * would come back on every retry, so it stops the export with SHADOW_REFUSED, which names the page
 * and the shadow server's answer, and is logged as an error.
 */
public final class Export {
  private static final Logger log = LoggerFactory.getLogger(Export.class);
  static final int PAGE_SAMPLES_MAX = 1_000;
  /** Well under the shadow server's inbound limit (--max-message-bytes, 4 MiB by default). */
  static final int PAGE_BYTES_MAX = 1024 * 1024;
  /** Requests before a page that its requests_per_minute counts, at most. */
  private static final int LOOKBACK_ROWS_MAX = 1_000;
  private static final int REQUEST_ID_LENGTH_MAX = 128;
  private static final int DESCRIPTION_CHARS_MAX = 512;
  private static final long CALL_DEADLINE_SECONDS = 30;
  private static final long MINUTE_NANOS = 60_000_000_000L;
  private static final Set<Status.Code> TRANSIENT = Set.of(Status.Code.UNAVAILABLE, Status.Code.DEADLINE_EXCEEDED,
      Status.Code.ABORTED, Status.Code.CANCELLED);

  static {
    // Every page takes at least one sample, so an export always moves on.
    checkState(Samples.SAMPLE_BYTES_MAX * 8 <= PAGE_BYTES_MAX, "a sample must be far smaller than a page");
  }

  private final Database database;
  private final Supplier<ShadowServiceGrpc.ShadowServiceBlockingStub> shadow;

  /** {@code shadow} gives null when no shadow endpoint is configured. */
  public Export(Database database, Supplier<ShadowServiceGrpc.ShadowServiceBlockingStub> shadow) {
    this.database = database;
    this.shadow = shadow;
  }

  private record Progress(long upperId, long afterId, long exported, ExportInteractionsResponse done) {}

  /** One RecordSamples call's worth, and the last interaction it holds. */
  private record Page(RecordSamplesRequest request, String firstId, String lastId) {}

  ExportInteractionsResponse run(ExportInteractionsRequest r, long after, long max) {
    ShadowServiceGrpc.ShadowServiceBlockingStub stub = shadow.get();
    if (stub == null) {
      throw new Rejection(ErrorReason.SHADOW_NOT_CONFIGURED, "no shadow endpoint is configured; start the decoy server "
          + "with --shadow-target=HOST:PORT");
    }
    Progress p = database.inTransaction(c -> begin(c, r, after));
    if (p.done() != null) {
      return p.done();
    }
    try {
      return resume(r, stub, p, after, max);
    } catch (Rejection e) {
      if (ErrorReasons.effect(e.reason()) == Effect.EFFECT_UNKNOWN) {
        throw e;
      }
      // Pages before the failure may already be in the shadow dataset: the export stopped part way.
      throw new Rejection(ErrorReason.OUTCOME_UNKNOWN, "the export stopped part way (" + e.getMessage()
          + "); send the same request again to resume it");
    }
  }

  /** Exports page after page from where {@code p} stands, recording the progress after each. */
  private ExportInteractionsResponse resume(ExportInteractionsRequest r,
      ShadowServiceGrpc.ShadowServiceBlockingStub stub, Progress p, long start, long max) {
    long position = p.afterId();
    long exported = p.exported();
    long datasetCount = 0;
    ArrayDeque<Interaction> pending = new ArrayDeque<>();
    while (exported < max) {
      // The page sees the same interactions as on a first attempt from here: as many as it may hold.
      int want = (int) Math.min(PAGE_SAMPLES_MAX, max - exported);
      if (pending.size() < want) {
        long from = pending.isEmpty() ? position : InteractionStore.number(pending.peekLast().getInteractionId());
        int more = want - pending.size();
        pending.addAll(database.inTransaction(c -> InteractionStore.after(c, from, p.upperId(), more)));
      }
      if (pending.isEmpty()) {
        break;
      }
      Page page = page(r, pending, start, want);
      RecordSamplesResponse recorded = send(r, stub, page, exported);
      datasetCount = recorded.getDatasetSampleCount();
      position = InteractionStore.number(page.lastId());
      exported += page.request().getSamplesCount();
      long newPosition = position;
      long newExported = exported;
      database.inTransaction(c -> advance(c, r.getRequestId(), newPosition, newExported));
    }
    ExportInteractionsResponse response = ExportInteractionsResponse.newBuilder()
        .setDataset(r.getDataset())
        .setExportedCount(exported)
        .setLastInteractionId(position > 0 && exported > 0 ? InteractionStore.PREFIX + position : "")
        .setDatasetSampleCount(datasetCount)
        .build();
    database.inTransaction(c -> finish(c, r.getRequestId(), response));
    return response;
  }

  /**
   * The next page: the samples of the first {@code pending} interactions (taken from it) that fit
   * {@code samplesMax} and {@link #PAGE_BYTES_MAX}; requests_per_minute counts from the requests
   * just before it, so the page is the same on every attempt.
   */
  private Page page(ExportInteractionsRequest r, ArrayDeque<Interaction> pending, long start, int samplesMax) {
    Interaction first = pending.peekFirst();
    Samples samples = new Samples();
    long firstNumber = InteractionStore.number(first.getInteractionId());
    database.inTransaction(c -> lookBack(c, samples, start, firstNumber, first.getTime()));
    RecordSamplesRequest.Builder b = RecordSamplesRequest.newBuilder()
        .setRequestId(pageRequestId(r.getRequestId(), first.getInteractionId())).setDataset(r.getDataset());
    int bytes = b.build().getSerializedSize();
    String last = null;
    while (!pending.isEmpty() && b.getSamplesCount() < samplesMax) {
      Sample s = samples.sample(pending.peekFirst());
      int size = CodedOutputStream.computeMessageSize(RecordSamplesRequest.SAMPLES_FIELD_NUMBER, s);
      if (bytes + size > PAGE_BYTES_MAX) {
        break;
      }
      b.addSamples(s);
      bytes += size;
      last = pending.pollFirst().getInteractionId();
    }
    RecordSamplesRequest request = b.build();
    checkState(request.getSamplesCount() > 0, "a page holds at least one sample");
    checkState(request.getSerializedSize() <= PAGE_BYTES_MAX, "a page of %s bytes passes the budget",
        request.getSerializedSize());
    return new Page(request, first.getInteractionId(), last);
  }

  /** Shows {@code samples} this export's requests in the minute before the page, at most {@link #LOOKBACK_ROWS_MAX}. */
  private static Void lookBack(Connection c, Samples samples, long start, long firstNumber, Timestamp firstTime)
      throws SQLException {
    Instant from = Instant.ofEpochSecond(firstTime.getSeconds(), firstTime.getNanos()).minusNanos(MINUTE_NANOS);
    try (PreparedStatement s = c.prepareStatement("""
        SELECT client_ip, time FROM interactions
        WHERE interaction_id > ? AND interaction_id < ? AND time >= ?
        ORDER BY interaction_id DESC LIMIT ?""")) {
      s.setLong(1, start);
      s.setLong(2, firstNumber);
      s.setObject(3, OffsetDateTime.ofInstant(from, ZoneOffset.UTC));
      s.setInt(4, LOOKBACK_ROWS_MAX);
      List<String> ips = new ArrayList<>();
      List<Long> times = new ArrayList<>();
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          ips.add(rs.getString(1));
          Instant t = rs.getObject(2, OffsetDateTime.class).toInstant();
          times.add(t.getEpochSecond() * 1_000_000_000L + t.getNano());
        }
      }
      for (int k = ips.size() - 1; k >= 0; k--) {
        samples.seen(ips.get(k), times.get(k));
      }
    }
    return null;
  }

  private static RecordSamplesResponse send(ExportInteractionsRequest r,
      ShadowServiceGrpc.ShadowServiceBlockingStub stub, Page page, long exported) {
    try {
      return stub.withDeadlineAfter(CALL_DEADLINE_SECONDS, TimeUnit.SECONDS).recordSamples(page.request());
    } catch (StatusRuntimeException e) {
      Status status = e.getStatus();
      String description = status.getDescription() == null ? "" : Samples.cut(status.getDescription(),
          DESCRIPTION_CHARS_MAX);
      if (TRANSIENT.contains(status.getCode())) {
        log.warn("export {}: the shadow server did not take the page from {}: {} {}", r.getRequestId(),
            page.firstId(), status.getCode(), description);
        throw new Rejection(ErrorReason.SHADOW_UNAVAILABLE, "the shadow server did not take the samples ("
            + status.getCode() + ": " + description + "); retry with the same request_id to resume");
      }
      log.error("export {}: the shadow server refused the page {} to {} ({} samples, {} bytes), after {} exported: "
          + "{} {}", r.getRequestId(), page.firstId(), page.lastId(), page.request().getSamplesCount(),
          page.request().getSerializedSize(), exported, status.getCode(), description);
      throw new Rejection(ErrorReason.SHADOW_REFUSED, "the shadow server refused the interactions " + page.firstId()
          + " to " + page.lastId() + " (" + status.getCode() + ": " + description + ") after " + exported
          + " were exported; a retry will be refused the same way until that is fixed. Fix it and send the same "
          + "request again to resume, or skip these with a new request_id and after_interaction_id="
          + page.lastId(), Map.of("shadow_code", status.getCode().name(), "first_interaction_id", page.firstId(),
          "last_interaction_id", page.lastId()));
    }
  }

  /**
   * The page's request_id: the export's and the page's first interaction, or, when that would pass
   * the shadow server's 128 characters, a digest of the export's in its place.
   */
  static String pageRequestId(String exportRequestId, String firstInteractionId) {
    String id = exportRequestId + ":" + firstInteractionId;
    if (id.length() <= REQUEST_ID_LENGTH_MAX) {
      return id;
    }
    return "export-" + Hashing.sha256().hashString(exportRequestId, StandardCharsets.UTF_8).toString()
        .substring(0, 40) + ":" + firstInteractionId;
  }

  /** The export's progress, created at its first attempt. */
  private static Progress begin(Connection c, ExportInteractionsRequest r, long after) throws SQLException {
    byte[] fingerprint = fortress.core.store.Operations.fingerprint(r);
    try (PreparedStatement insert = c.prepareStatement("""
        INSERT INTO exports (request_id, fingerprint, upper_id, after_id)
        VALUES (?, ?, (SELECT coalesce(max(interaction_id), 0) FROM interactions), ?)
        ON CONFLICT DO NOTHING""")) {
      insert.setString(1, r.getRequestId());
      insert.setBytes(2, fingerprint);
      insert.setLong(3, after);
      insert.executeUpdate();
    }
    try (PreparedStatement s = c.prepareStatement(
        "SELECT fingerprint, upper_id, after_id, exported, response FROM exports WHERE request_id = ?")) {
      s.setString(1, r.getRequestId());
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        if (!Arrays.equals(rs.getBytes(1), fingerprint)) {
          throw Operations.reused(r.getRequestId());
        }
        byte[] done = rs.getBytes(5);
        try {
          return new Progress(rs.getLong(2), rs.getLong(3), rs.getLong(4),
              done == null ? null : ExportInteractionsResponse.parseFrom(done));
        } catch (InvalidProtocolBufferException e) {
          throw new SQLException("a stored export response does not parse", e);
        }
      }
    }
  }

  private static Void advance(Connection c, String requestId, long afterId, long exported) throws SQLException {
    try (PreparedStatement s = c.prepareStatement(
        "UPDATE exports SET after_id = greatest(after_id, ?), exported = greatest(exported, ?) WHERE request_id = ?")) {
      s.setLong(1, afterId);
      s.setLong(2, exported);
      s.setString(3, requestId);
      s.executeUpdate();
    }
    return null;
  }

  private static Void finish(Connection c, String requestId, ExportInteractionsResponse response)
      throws SQLException {
    try (PreparedStatement s = c.prepareStatement(
        "UPDATE exports SET response = coalesce(response, ?) WHERE request_id = ?")) {
      s.setBytes(1, response.toByteArray());
      s.setString(2, requestId);
      s.executeUpdate();
    }
    return null;
  }
}
