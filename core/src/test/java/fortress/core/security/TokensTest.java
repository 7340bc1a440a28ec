package fortress.core.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import fortress.auth.v1.ErrorReason;
import fortress.core.Settings;
import fortress.core.rpc.Rejection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokensTest {
  private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes();

  private static final List<String> AUD = List.of("fortress-ledger");

  private static Tokens ledger(Settings s) {
    return Tokens.read(s, Tokens.Policy.LEDGER);
  }

  private static Tokens hs256(String... extra) {
    String[] args = new String[extra.length + 1];
    args[0] = "--auth-hs256-key=" + Base64.getEncoder().encodeToString(KEY);
    System.arraycopy(extra, 0, args, 1, extra.length);
    return Settings.parse(args, Map.of(), TokensTest::ledger);
  }

  private static ErrorReason refusal(Tokens tokens, String token) {
    Rejection r = catchThrowableOfType(Rejection.class, () -> tokens.verify(token));
    assertThat(r).as("refused").isNotNull();
    assertThat(r.getMessage()).doesNotContain(token);
    return (ErrorReason) r.reason();
  }

  private static JWTClaimsSet.Builder claims() {
    return new JWTClaimsSet.Builder().subject("svc").claim("tenant", "acme").audience("fortress-ledger")
        .expirationTime(Date.from(Instant.now().plusSeconds(300)));
  }

  @Test
  void anHs256Token_givesItsSubjectTenantAndRoles() {
    Caller caller = hs256().verify(Tokens.hs256(KEY, "ops", "acme", List.of("admin"), AUD, Duration.ofMinutes(5)));

    assertThat(caller.subject()).isEqualTo("ops");
    assertThat(caller.tenant()).isEqualTo("acme");
    assertThat(caller.admin()).isTrue();
  }

  @Test
  void noKey_meansTokensAreOff() {
    assertThat(Settings.parse(new String[0], Map.of(), TokensTest::ledger).enabled()).isFalse();
  }

  @Test
  void aWrongKeyAnExpiryAGarbageTokenAndAnUnsignedOne_areEachRefusedWithTheirReason() throws Exception {
    Tokens tokens = hs256();
    byte[] other = "fedcba9876543210fedcba9876543210".getBytes();

    assertThat(refusal(tokens, Tokens.hs256(other, "x", "acme", List.of(), AUD, Duration.ofMinutes(5))))
        .isEqualTo(ErrorReason.TOKEN_INVALID);
    assertThat(refusal(tokens, Tokens.hs256(KEY, "x", "acme", List.of(), AUD, Duration.ofMinutes(-5))))
        .isEqualTo(ErrorReason.TOKEN_EXPIRED);
    assertThat(refusal(tokens, "abc.def.ghi")).isEqualTo(ErrorReason.TOKEN_INVALID);
    assertThat(refusal(tokens, new PlainJWT(claims().build()).serialize())).isEqualTo(ErrorReason.TOKEN_INVALID);
  }

  @Test
  void theExpiryAndSubjectAreRequired_andIssuerAndAudienceCheckedWhenConfigured() throws Exception {
    Tokens tokens = hs256("--auth-issuer=https://id.example", "--auth-audience=fortress");
    JWTClaimsSet.Builder good = claims().issuer("https://id.example").audience("fortress");

    assertThat(tokens.verify(sign(good.build())).tenant()).isEqualTo("acme");
    assertThat(refusal(tokens, sign(claims().issuer("https://evil.example").audience("fortress").build())))
        .isEqualTo(ErrorReason.TOKEN_INVALID);
    assertThat(refusal(tokens, sign(claims().issuer("https://id.example").audience("other").build())))
        .isEqualTo(ErrorReason.TOKEN_INVALID);
    assertThat(refusal(hs256(), sign(new JWTClaimsSet.Builder().subject("svc").audience("fortress-ledger").build())))
        .as("no exp").isEqualTo(ErrorReason.TOKEN_INVALID);
    assertThat(refusal(hs256(), sign(claims().claim("roles", "admin").build())))
        .as("roles must be a list").isEqualTo(ErrorReason.TOKEN_INVALID);
  }

  @Test
  void rs256AndEs256Tokens_verifyAgainstAJwkSetFile(@TempDir Path dir) throws Exception {
    RSAKey rsa = new RSAKeyGenerator(2048).keyID("rsa-1").generate();
    ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
    Path jwks = dir.resolve("jwks.json");
    Files.writeString(jwks, new JWKSet(List.of(rsa.toPublicJWK(), ec.toPublicJWK())).toString());
    Tokens tokens = Settings.parse(new String[] {"--auth-jwks-file=" + jwks}, Map.of(), TokensTest::ledger);

    SignedJWT byRsa = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("rsa-1").build(), claims().build());
    byRsa.sign(new RSASSASigner(rsa));
    SignedJWT byEc = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID("ec-1").build(), claims().build());
    byEc.sign(new ECDSASigner(ec));
    ECKey stranger = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
    SignedJWT forged = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).keyID("ec-1").build(), claims().build());
    forged.sign(new ECDSASigner(stranger));

    assertThat(tokens.verify(byRsa.serialize()).tenant()).isEqualTo("acme");
    assertThat(tokens.verify(byEc.serialize()).tenant()).isEqualTo("acme");
    assertThat(refusal(tokens, forged.serialize())).isEqualTo(ErrorReason.TOKEN_INVALID);
    assertThat(refusal(tokens, Tokens.hs256(KEY, "x", "acme", List.of(), AUD, Duration.ofMinutes(5))))
        .as("no HS256 secret configured").isEqualTo(ErrorReason.TOKEN_INVALID);
  }

  @Test
  void anUnreadableJwkSet_isAStartUpProblem() {
    assertThat(catchThrowableOfType(IllegalArgumentException.class, () -> Settings.parse(
        new String[] {"--auth-jwks-file=/nonexistent/jwks.json"}, Map.of(), TokensTest::ledger)))
        .hasMessageContaining("--auth-jwks-file");
  }

  @Test
  void theDecoy_refusesAnHs256Secret_soTheHoneypotHoldsNoKeyThatCanSign() {
    String secret = "--auth-hs256-key=" + Base64.getEncoder().encodeToString(KEY);

    IllegalArgumentException refused = catchThrowableOfType(IllegalArgumentException.class,
        () -> Settings.parse(new String[] {secret}, Map.of(), s -> Tokens.read(s, Tokens.Policy.DECOY)));

    assertThat(refused).hasMessageContaining("--auth-hs256-key is refused here");
    assertThat(refused.getMessage()).doesNotContain(Base64.getEncoder().encodeToString(KEY));
  }

  @Test
  void aJwkSetHoldingAPrivateOrSymmetricKey_isRefused_soNoVerifierCanMintTokens(@TempDir Path dir) throws Exception {
    ECKey ec = Tokens.newSigningKey();
    Path withPrivate = dir.resolve("private.json");
    Files.writeString(withPrivate, new JWKSet(ec).toString(false));
    Path withSecret = dir.resolve("secret.json");
    Files.writeString(withSecret, new JWKSet(new com.nimbusds.jose.jwk.OctetSequenceKey.Builder(KEY).keyID("hs")
        .build()).toString(false));

    for (Path file : List.of(withPrivate, withSecret)) {
      assertThat(catchThrowableOfType(IllegalArgumentException.class, () -> Settings.parse(
          new String[] {"--auth-jwks-file=" + file}, Map.of(), TokensTest::ledger)))
          .as(file.getFileName().toString()).hasMessageContaining("holds a key that can sign");
    }
  }

  @Test
  void eachServiceRequiresItsOwnAudience_soALedgerTokenIsNoCallerOnShadowOrDecoy(@TempDir Path dir)
      throws Exception {
    ECKey issuer = Tokens.newSigningKey();
    Path jwks = dir.resolve("jwks.json");
    Files.writeString(jwks, new JWKSet(issuer.toPublicJWK()).toString());
    String[] args = {"--auth-jwks-file=" + jwks};
    Tokens ledger = Settings.parse(args, Map.of(), s -> Tokens.read(s, Tokens.Policy.LEDGER));
    Tokens shadow = Settings.parse(args, Map.of(), s -> Tokens.read(s, Tokens.Policy.SHADOW));
    Tokens decoy = Settings.parse(args, Map.of(), s -> Tokens.read(s, Tokens.Policy.DECOY));
    String tenantToken = Tokens.sign(issuer, "app", "acme", List.of("admin"), List.of("fortress-ledger"),
        Duration.ofMinutes(5));
    String noAudience = Tokens.sign(issuer, "app", "acme", List.of("admin"), List.of(), Duration.ofMinutes(5));
    String everywhere = Tokens.sign(issuer, "ops", null, List.of("admin"), Tokens.Policy.ALL, Duration.ofMinutes(5));

    assertThat(ledger.verify(tenantToken).tenant()).isEqualTo("acme");
    assertThat(refusal(shadow, tenantToken)).isEqualTo(ErrorReason.TOKEN_INVALID);
    assertThat(refusal(decoy, tenantToken)).isEqualTo(ErrorReason.TOKEN_INVALID);
    assertThat(refusal(ledger, noAudience)).isEqualTo(ErrorReason.TOKEN_INVALID);
    for (Tokens service : List.of(ledger, shadow, decoy)) {
      assertThat(service.verify(everywhere).admin()).isTrue();
    }
  }

  private static String sign(JWTClaimsSet claims) throws Exception {
    SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
    jwt.sign(new com.nimbusds.jose.crypto.MACSigner(KEY));
    return jwt.serialize();
  }

  @Test
  void aTokenThatVerified_stillExpiresAtItsExpiry_thoughItIsRemembered() throws Exception {
    ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
    Tokens tokens = Tokens.of(new JWKSet(ec.toPublicJWK()), null, "fortress-ledger", 0);
    String token = Tokens.sign(ec, "svc", "acme", List.of(), AUD, Duration.ofSeconds(2));

    assertThat(tokens.verify(token).tenant()).isEqualTo("acme");
    assertThat(tokens.verify(token).tenant()).as("remembered").isEqualTo("acme");
    long deadline = System.currentTimeMillis() + 10_000;
    while (System.currentTimeMillis() < deadline && tokens.enabled()) {
      Rejection r = catchThrowableOfType(Rejection.class, () -> tokens.verify(token));
      if (r != null) {
        assertThat(r.reason()).isEqualTo(ErrorReason.TOKEN_EXPIRED);
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("a remembered token was still accepted 10 s after it expired");
  }

  @Test
  void aTokenAlteredAfterItVerified_isRefused_andNotTakenForTheOneRemembered() throws Exception {
    ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
    Tokens tokens = Tokens.of(new JWKSet(ec.toPublicJWK()), null, "fortress-ledger");
    String token = Tokens.sign(ec, "svc", "acme", List.of(), AUD, Duration.ofMinutes(5));
    tokens.verify(token);
    String[] parts = token.split("\\.");
    String otherTenant = Base64.getUrlEncoder().withoutPadding().encodeToString(
        claims().claim("tenant", "globex").build().toString().getBytes());
    char first = parts[2].charAt(0);

    assertThat(refusal(tokens, parts[0] + "." + otherTenant + "." + parts[2])).isEqualTo(ErrorReason.TOKEN_INVALID);
    assertThat(refusal(tokens, parts[0] + "." + parts[1] + "." + (first == 'A' ? 'B' : 'A') + parts[2].substring(1)))
        .isEqualTo(ErrorReason.TOKEN_INVALID);
    assertThat(tokens.verify(token).tenant()).isEqualTo("acme");
  }
}
