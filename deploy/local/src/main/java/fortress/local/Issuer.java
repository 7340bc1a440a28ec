package fortress.local;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import fortress.core.security.SecretFiles;
import fortress.core.security.Tokens;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;

/**
 * The local cluster's token issuer: an ES256 key pair kept in the data folder. The private key
 * ({@code issuer/signing-key.jwk}, owner-only) stays with the launcher, which signs the
 * development and service tokens; servers are given only the public JWK set
 * ({@code jwks.json}), which can verify a token but never mint one.
 */
final class Issuer {
  private Issuer() {}

  /** The signing key, created with its public JWK set on first use. */
  static ECKey loadOrCreate(Path secrets) throws IOException {
    Path file = secrets.resolve("issuer").resolve("signing-key.jwk");
    ECKey key;
    if (Files.exists(file)) {
      try {
        key = ECKey.parse(Files.readString(file, StandardCharsets.UTF_8));
      } catch (ParseException e) {
        throw new IOException(file + " is not an EC JWK: " + e.getMessage() + "; delete it to issue a new key "
            + "(tokens signed with the old one stop working)", e);
      }
    } else {
      key = Tokens.newSigningKey();
      SecretFiles.write(file, key.toJSONString());
    }
    Path jwks = publicKeys(secrets);
    String published = new JWKSet(key.toPublicJWK()).toString(true);
    if (!Files.exists(jwks) || !Files.readString(jwks, StandardCharsets.UTF_8).equals(published)) {
      Path tmp = jwks.resolveSibling("jwks.json.tmp");
      Files.writeString(tmp, published, StandardCharsets.UTF_8);
      Files.move(tmp, jwks, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    return key;
  }

  /** The public JWK set servers verify tokens with. */
  static Path publicKeys(Path secrets) {
    return secrets.resolve("jwks.json");
  }
}
