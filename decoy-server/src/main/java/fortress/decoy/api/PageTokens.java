package fortress.decoy.api;

import static com.google.common.base.Preconditions.checkArgument;

import fortress.core.rpc.Fields;
import fortress.core.rpc.Rejection;
import fortress.decoy.v1.ErrorReason;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * The opaque page tokens of ListTemplates and ListInteractions (AIP-158): base64url, without
 * padding, of a version byte, a byte naming the list, and the last row's key (a template_id in
 * UTF-8, or an interaction's number as 8 bytes). A token is decoded and checked whole before any
 * query, so anything this server did not issue is INVALID_ARGUMENT naming {@code page_token}.
 */
final class PageTokens {
  private static final byte VERSION = 1;
  private static final byte TEMPLATES = 't';
  private static final byte INTERACTIONS = 'i';
  /** Longer than any token this server issues (a 64-character template_id takes 88). */
  private static final int TOKEN_LENGTH_MAX = 128;

  private PageTokens() {}

  static String templates(String lastTemplateId) {
    byte[] id = lastTemplateId.getBytes(StandardCharsets.UTF_8);
    return encode(ByteBuffer.allocate(2 + id.length).put(VERSION).put(TEMPLATES).put(id).array());
  }

  /** The template_id a ListTemplates token continues after. */
  static String templateAfter(String token) {
    ByteBuffer key = decode(token, TEMPLATES);
    String id;
    try {
      id = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(key).toString();
    } catch (CharacterCodingException e) {
      throw notIssued();
    }
    try {
      Fields.name("page_token", id, ErrorReason.INVALID_FIELD);
    } catch (Rejection e) {
      throw notIssued();
    }
    return id;
  }

  static String interactions(long lastInteractionNumber) {
    checkArgument(lastInteractionNumber > 0, "interaction numbers start at 1: %s", lastInteractionNumber);
    return encode(ByteBuffer.allocate(10).put(VERSION).put(INTERACTIONS).putLong(lastInteractionNumber).array());
  }

  /** The interaction number a ListInteractions token continues before. */
  static long interactionBefore(String token) {
    ByteBuffer key = decode(token, INTERACTIONS);
    if (key.remaining() != Long.BYTES) {
      throw notIssued();
    }
    long number = key.getLong();
    if (number <= 0) {
      throw notIssued();
    }
    return number;
  }

  private static String encode(byte[] bytes) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  /** The key part of a token of {@code list}, positioned after its header. */
  private static ByteBuffer decode(String token, byte list) {
    if (token.length() > TOKEN_LENGTH_MAX || token.indexOf('=') >= 0) {
      throw notIssued();
    }
    byte[] bytes;
    try {
      bytes = Base64.getUrlDecoder().decode(token);
    } catch (IllegalArgumentException e) {
      throw notIssued();
    }
    // The decoder takes some strings that no encoding gives (stray low bits in the last character).
    if (bytes.length < 3 || bytes[0] != VERSION || bytes[1] != list || !encode(bytes).equals(token)) {
      throw notIssued();
    }
    return ByteBuffer.wrap(bytes, 2, bytes.length - 2).slice();
  }

  private static Rejection notIssued() {
    return Rejection.invalid(ErrorReason.INVALID_FIELD, "page_token", "is not a token this server issued; "
        + "pass the next_page_token of the previous page, or empty for the first page");
  }
}
