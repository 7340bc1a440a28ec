package fortress.core.store;

import com.google.common.hash.Hashing;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.function.Function;

/**
 * Idempotent mutations (AIP-155). Inside the mutation's own transaction: the request_id is locked,
 * an earlier response with the same body is returned as it was, the same id with another body is
 * refused with {@code reused} (the server's REQUEST_ID_REUSED), and otherwise the work runs and its
 * response is recorded before commit. The server's schema has the {@code operations} table:
 * {@code (request_id text PRIMARY KEY, method text, fingerprint bytea, response bytea)}.
 */
public final class Operations {
  private Operations() {}

  @FunctionalInterface
  public interface Mutation<T> {
    T apply() throws SQLException;
  }

  public static <T extends Message> T once(Connection c, String requestId, Message request, Parser<T> parser,
      Mutation<T> mutation, Function<String, RuntimeException> reused) throws SQLException {
    return once(c, null, requestId, request, parser, mutation, reused);
  }

  /**
   * The same, with request_ids that belong to their caller: with a {@code caller}, the record is
   * keyed by (caller, request_id) (the table then has a {@code caller} column in its key), so
   * another caller's same id is neither answered from this record nor refused as a reuse.
   */
  public static <T extends Message> T once(Connection c, String caller, String requestId, Message request,
      Parser<T> parser, Mutation<T> mutation, Function<String, RuntimeException> reused) throws SQLException {
    String method = request.getDescriptorForType().getName();
    byte[] fingerprint = fingerprint(request);
    String scope = caller == null ? "" : "caller = ? AND ";
    try (PreparedStatement lock = c.prepareStatement("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))")) {
      lock.setString(1, caller == null ? requestId : caller + "\n" + requestId);
      lock.execute();
    }
    try (PreparedStatement find = c.prepareStatement(
        "SELECT method, fingerprint, response FROM operations WHERE " + scope + "request_id = ?")) {
      int i = 1;
      if (caller != null) {
        find.setString(i++, caller);
      }
      find.setString(i, requestId);
      try (ResultSet rs = find.executeQuery()) {
        if (rs.next()) {
          if (!rs.getString(1).equals(method) || !Arrays.equals(rs.getBytes(2), fingerprint)) {
            throw reused.apply(requestId);
          }
          try {
            return parser.parseFrom(rs.getBytes(3));
          } catch (InvalidProtocolBufferException e) {
            throw new SQLException("stored response of " + requestId + " does not parse", e);
          }
        }
      }
    }
    T response = mutation.apply();
    try (PreparedStatement record = c.prepareStatement(caller == null
        ? "INSERT INTO operations (request_id, method, fingerprint, response) VALUES (?, ?, ?, ?)"
        : "INSERT INTO operations (caller, request_id, method, fingerprint, response) VALUES (?, ?, ?, ?, ?)")) {
      int i = 1;
      if (caller != null) {
        record.setString(i++, caller);
      }
      record.setString(i++, requestId);
      record.setString(i++, method);
      record.setBytes(i++, fingerprint);
      record.setBytes(i, response.toByteArray());
      record.executeUpdate();
    }
    return response;
  }

  /** SHA-256 of the request's deterministic serialization, request_id included (it is the same). */
  public static byte[] fingerprint(Message request) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      out.useDeterministicSerialization();
      request.writeTo(out);
      out.flush();
      return Hashing.sha256().hashBytes(bytes.toByteArray()).asBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
