package fortress.ledger;

import fortress.core.security.Guard;
import fortress.core.security.Security;
import io.grpc.ClientInterceptor;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-member node tokens for a test cluster, as an operator issues them: a random token for each
 * member (ledger nodes and the proxy), and the one file of their hashes every node verifies with.
 */
public final class MemberTokens {
  private final Map<String, String> tokens = new LinkedHashMap<>();
  private final Path file;

  public MemberTokens(List<String> members) {
    StringBuilder lines = new StringBuilder("# member  sha256 of its node token\n");
    for (String member : members) {
      byte[] token = TestNode.randomKey();
      tokens.put(member, Base64.getEncoder().encodeToString(token));
      lines.append(member).append(' ').append(Security.memberTokenHash(token)).append('\n');
    }
    try {
      file = Files.createTempFile("member-tokens", ".txt");
      Files.writeString(file, lines);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The flags a ledger node runs with: its own token and the hashes of everyone's. */
  public List<String> nodeFlags(String nodeId) {
    return List.of("--node-token=" + token(nodeId), "--member-tokens-file=" + file);
  }

  /** A member's token, base64 as it travels. */
  public String token(String member) {
    return tokens.get(member);
  }

  /** The header a caller presenting {@code member}'s token sends. */
  public ClientInterceptor as(String member) {
    Metadata headers = new Metadata();
    headers.put(Guard.NODE_TOKEN, token(member));
    return MetadataUtils.newAttachHeadersInterceptor(headers);
  }

  public Path file() {
    return file;
  }
}
