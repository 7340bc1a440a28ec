package fortress.decoy.api;

import com.google.protobuf.InvalidProtocolBufferException;
import fortress.core.rpc.Rejection;
import fortress.core.store.Database;
import fortress.decoy.capture.InteractionStore;
import fortress.decoy.v1.ErrorReason;
import fortress.decoy.v1.ExportInteractionsRequest;
import fortress.decoy.v1.ExportInteractionsResponse;
import fortress.decoy.v1.Interaction;
import fortress.rpc.ErrorReasons;
import fortress.rpc.v1.Effect;
import fortress.shadow.v1.Label;
import fortress.shadow.v1.RecordSamplesRequest;
import fortress.shadow.v1.RecordSamplesResponse;
import fortress.shadow.v1.RequestAttributes;
import fortress.shadow.v1.Sample;
import fortress.shadow.v1.ShadowServiceGrpc;
import io.grpc.StatusRuntimeException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends recorded interactions to the shadow server as MALICIOUS samples. An export is bounded at
 * its first attempt (the newest interaction then) and records its progress after every page, so
 * a retry with the same request_id resumes where it stopped; each page carries its own request_id
 * (the export's plus the page's first interaction), so a page the shadow server already stored is
 * not stored twice.
 */
public final class Export {
  private static final Logger log = LoggerFactory.getLogger(Export.class);
  static final int PAGE_SIZE = 1_000;
  private static final long CALL_DEADLINE_SECONDS = 30;
  private static final long MINUTE_NANOS = 60_000_000_000L;

  private final Database database;
  private final Supplier<ShadowServiceGrpc.ShadowServiceBlockingStub> shadow;

  /** {@code shadow} gives null when no shadow endpoint is configured. */
  public Export(Database database, Supplier<ShadowServiceGrpc.ShadowServiceBlockingStub> shadow) {
    this.database = database;
    this.shadow = shadow;
  }

  private record Progress(long upperId, long afterId, long exported, ExportInteractionsResponse done) {}

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
      return resume(r, stub, p, max);
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
      ShadowServiceGrpc.ShadowServiceBlockingStub stub, Progress p, long max) {
    long position = p.afterId();
    long exported = p.exported();
    long datasetCount = 0;
    Map<String, ArrayDeque<Long>> recent = new HashMap<>();
    while (exported < max) {
      long from = position;
      int limit = (int) Math.min(PAGE_SIZE, max - exported);
      List<Interaction> page = database.inTransaction(c -> InteractionStore.after(c, from, p.upperId(), limit));
      if (page.isEmpty()) {
        break;
      }
      RecordSamplesRequest.Builder samples = RecordSamplesRequest.newBuilder()
          .setRequestId(r.getRequestId() + ":" + page.get(0).getInteractionId()).setDataset(r.getDataset());
      for (Interaction i : page) {
        samples.addSamples(Sample.newBuilder().setAttributes(attributes(i, recent)).setLabel(Label.LABEL_MALICIOUS));
      }
      RecordSamplesResponse recorded;
      try {
        recorded = stub.withDeadlineAfter(CALL_DEADLINE_SECONDS, TimeUnit.SECONDS).recordSamples(samples.build());
      } catch (StatusRuntimeException e) {
        log.warn("export {}: the shadow server refused a page: {}", r.getRequestId(), e.getStatus());
        throw new Rejection(ErrorReason.SHADOW_UNAVAILABLE, "the shadow server did not take the samples ("
            + e.getStatus().getCode() + "); retry with the same request_id to resume");
      }
      datasetCount = recorded.getDatasetSampleCount();
      position = InteractionStore.number(page.get(page.size() - 1).getInteractionId());
      exported += page.size();
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

  /**
   * The shadow server's view of a recorded request. requests_per_minute counts this client's
   * requests in the minute before it among those exported in this call.
   */
  static RequestAttributes attributes(Interaction i, Map<String, ArrayDeque<Long>> recent) {
    long t = i.getTime().getSeconds() * 1_000_000_000L + i.getTime().getNanos();
    ArrayDeque<Long> times = recent.computeIfAbsent(i.getClientIp(), k -> new ArrayDeque<>());
    while (!times.isEmpty() && times.peekFirst() < t - MINUTE_NANOS) {
      times.pollFirst();
    }
    times.addLast(t);
    return RequestAttributes.newBuilder()
        .setIp(i.getClientIp())
        .setMethod(i.getMethod())
        .setPath(i.getPath())
        .putAllHeaders(i.getHeadersMap())
        .setUserAgent(i.getHeadersOrDefault("user-agent", ""))
        .setBytes(Math.max(0, i.getBodyBytes()))
        .setRequestsPerMinute(times.size())
        .build();
  }
}
