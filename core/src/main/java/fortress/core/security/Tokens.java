package fortress.core.security;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import com.nimbusds.jwt.proc.ExpiredJWTException;
import fortress.auth.v1.ErrorReason;
import fortress.core.Settings;
import fortress.core.rpc.Rejection;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Verifies the bearer tokens tenants and operators present: JWTs signed with HS256 (a shared
 * secret) or RS256/ES256 (public keys from a JWK set), with an {@code exp}, optionally an
 * issuer and audience, the tenant in a configurable claim and roles in {@code roles}. Off when
 * no key is configured.
 */
public final class Tokens {
  public static final String ROLES_CLAIM = "roles";
  private static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.HS256, JWSAlgorithm.RS256,
      JWSAlgorithm.ES256);

  private final DefaultJWTProcessor<SecurityContext> processor;
  private final String tenantClaim;

  private Tokens(DefaultJWTProcessor<SecurityContext> processor, String tenantClaim) {
    this.processor = processor;
    this.tenantClaim = tenantClaim;
  }

  /** No verification: every call is let through unauthenticated. */
  public static final Tokens OFF = new Tokens(null, "tenant");

  /** Reads the --auth-* settings; {@link #OFF} when neither a secret nor a JWK set is given. */
  public static Tokens read(Settings s) {
    byte[] hs256 = s.secret("auth-hs256-key", 32, "secret that HS256 tokens are signed with");
    String jwks = s.string("auth-jwks-file", null, "JWK set (JSON) of the RS256/ES256 public keys tokens are signed with");
    String issuer = s.string("auth-issuer", null, "the iss every token must carry; unset accepts any");
    String audience = s.string("auth-audience", null, "the aud every token must include; unset accepts any");
    String tenantClaim = s.string("auth-tenant-claim", "tenant", "the claim that names the caller's tenant");
    int skewSeconds = s.integer("auth-clock-skew-seconds", 30, 0, 600, "leeway on exp and nbf");
    List<JWK> keys = new ArrayList<>();
    if (hs256 != null) {
      keys.add(new OctetSequenceKey.Builder(hs256).algorithm(JWSAlgorithm.HS256).build());
    }
    if (jwks != null) {
      try {
        keys.addAll(JWKSet.load(Path.of(jwks).toFile()).getKeys());
      } catch (Exception e) {
        s.problem("--auth-jwks-file=" + jwks + " is not a readable JWK set: " + e.getMessage());
      }
    }
    if (keys.isEmpty()) {
      return OFF;
    }
    return new Tokens(processor(new JWKSet(keys), issuer, audience, skewSeconds), tenantClaim);
  }

  /** Verification with these keys; tests and tools use it. */
  public static Tokens of(JWKSet keys, String issuer, String audience) {
    return new Tokens(processor(keys, issuer, audience, 30), "tenant");
  }

  private static DefaultJWTProcessor<SecurityContext> processor(JWKSet keys, String issuer, String audience,
      int skewSeconds) {
    DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
    p.setJWSKeySelector(new JWSVerificationKeySelector<>(ALGORITHMS, new ImmutableJWKSet<>(keys)));
    JWTClaimsSet exact = issuer == null ? new JWTClaimsSet.Builder().build()
        : new JWTClaimsSet.Builder().issuer(issuer).build();
    DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(audience, exact,
        Set.of("exp", "sub"));
    claims.setMaxClockSkew(skewSeconds);
    p.setJWTClaimsSetVerifier(claims);
    return p;
  }

  public boolean enabled() {
    return processor != null;
  }

  /**
   * The caller a token stands for; a {@link Rejection} (UNAUTHENTICATED, TOKEN_INVALID or
   * TOKEN_EXPIRED) if it is not good. The message never repeats the token.
   */
  public Caller verify(String token) {
    JWTClaimsSet claims;
    try {
      claims = processor.process(token, null);
    } catch (ExpiredJWTException e) {
      throw new Rejection(ErrorReason.TOKEN_EXPIRED, "the bearer token has expired; get a new one");
    } catch (java.text.ParseException e) {
      throw new Rejection(ErrorReason.TOKEN_INVALID, "the bearer token is not a JWT");
    } catch (BadJOSEException | JOSEException e) {
      throw new Rejection(ErrorReason.TOKEN_INVALID, "the bearer token was refused: " + e.getMessage());
    }
    try {
      String tenant = claims.getStringClaim(tenantClaim);
      List<String> roles = claims.getStringListClaim(ROLES_CLAIM);
      return new Caller(claims.getSubject(), tenant == null || tenant.isEmpty() ? null : tenant,
          roles == null ? Set.of() : Set.copyOf(new HashSet<>(roles)), false);
    } catch (java.text.ParseException e) {
      throw new Rejection(ErrorReason.TOKEN_INVALID, "the bearer token's " + tenantClaim + " must be a string and "
          + ROLES_CLAIM + " a list of strings");
    }
  }

  /**
   * An HS256 token for {@code subject}, scoped to {@code tenant} (null for none) with these roles,
   * valid for {@code ttl}: what the local launcher hands out, and what tests sign with.
   */
  public static String hs256(byte[] key, String subject, String tenant, List<String> roles, Duration ttl) {
    Instant now = Instant.now();
    JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder().subject(subject).issueTime(Date.from(now))
        .expirationTime(Date.from(now.plus(ttl))).claim(ROLES_CLAIM, roles);
    if (tenant != null) {
      claims.claim("tenant", tenant);
    }
    SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.HS256).type(JOSEObjectType.JWT).build(),
        claims.build());
    try {
      jwt.sign(new MACSigner(key));
    } catch (JOSEException e) {
      throw new IllegalArgumentException("cannot sign with this key: " + e.getMessage(), e);
    }
    return jwt.serialize();
  }
}
