package fortress.core.security;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.OctetSequenceKey;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import com.nimbusds.jwt.proc.ExpiredJWTException;
import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import com.google.common.hash.HashCode;
import com.google.common.hash.Hashing;
import fortress.auth.v1.ErrorReason;
import fortress.core.Settings;
import fortress.core.rpc.Rejection;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Verifies the bearer tokens tenants and operators present: JWTs signed with ES256 or RS256
 * (public keys from a JWK set) or, only where a service allows it and it is configured, HS256 (a
 * shared secret). Every token needs an {@code exp}, a {@code sub} and this service's audience in
 * {@code aud}; optionally an issuer. The tenant is in a configurable claim and roles in {@code roles}.
 * Off when no key is configured. A verifier never holds a key that can sign: a JWK set with a
 * private or symmetric key is refused.
 *
 * <p>A token that verified is remembered (by its SHA-256, at most {@link #VERIFIED_MAX} of them)
 * until its expiry plus the clock skew, so a caller's every call does not pay a signature check:
 * on ES256 that check is most of what a proxied call costs. Only tokens that passed every check
 * are remembered, the exact bytes must match, and the expiry is checked again on every use.
 */
public final class Tokens {
  public static final String ROLES_CLAIM = "roles";
  private static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.HS256, JWSAlgorithm.RS256,
      JWSAlgorithm.ES256);

  /**
   * What one service accepts: the audience its tokens must name, and whether a shared HS256 secret
   * may be configured at all (never on the internet-facing decoy, which must not hold a key that
   * can mint tokens).
   */
  public record Policy(String audience, boolean hs256Allowed) {
    public static final Policy LEDGER = new Policy("fortress-ledger", true);
    public static final Policy SHADOW = new Policy("fortress-shadow", true);
    public static final Policy DECOY = new Policy("fortress-decoy", false);
    /** Every service's audience: what an operator's token for the whole cluster names. */
    public static final List<String> ALL = List.of(LEDGER.audience, SHADOW.audience, DECOY.audience);
  }

  /** Verified tokens remembered at most; each costs about 200 bytes. */
  static final int VERIFIED_MAX = 10_000;

  /** A token that passed every check, good until {@code untilMillis} (its expiry plus the skew). */
  private record Verified(Caller caller, long untilMillis) {}

  private final DefaultJWTProcessor<SecurityContext> processor;
  private final String tenantClaim;
  private final long skewMillis;
  private final Cache<HashCode, Verified> verified =
      CacheBuilder.newBuilder().maximumSize(VERIFIED_MAX).concurrencyLevel(4).build();

  private Tokens(DefaultJWTProcessor<SecurityContext> processor, String tenantClaim, int skewSeconds) {
    this.processor = processor;
    this.tenantClaim = tenantClaim;
    this.skewMillis = skewSeconds * 1000L;
  }

  /** No verification: every call is let through unauthenticated. */
  public static final Tokens OFF = new Tokens(null, "tenant", 0);

  /** Reads the --auth-* settings; {@link #OFF} when neither a secret nor a JWK set is given. */
  public static Tokens read(Settings s, Policy policy) {
    byte[] hs256 = s.secret("auth-hs256-key", 32, policy.hs256Allowed()
        ? "secret that HS256 tokens are signed with (prefer --auth-jwks-file: a verifier holding it can also sign)"
        : "not accepted by this server: it verifies public keys only (--auth-jwks-file)");
    String jwks = s.string("auth-jwks-file", null, "JWK set (JSON) of the ES256/RS256 public keys tokens are signed with");
    String issuer = s.string("auth-issuer", null, "the iss every token must carry; unset accepts any");
    String audience = s.string("auth-audience", policy.audience(), "the aud every token must include");
    String tenantClaim = s.string("auth-tenant-claim", "tenant", "the claim that names the caller's tenant");
    int skewSeconds = s.integer("auth-clock-skew-seconds", 30, 0, 600, "leeway on exp and nbf");
    if (audience.isBlank()) {
      s.problem("--auth-audience must name this service's audience, e.g. " + policy.audience());
    }
    List<JWK> keys = new ArrayList<>();
    if (hs256 != null) {
      if (policy.hs256Allowed()) {
        keys.add(new OctetSequenceKey.Builder(hs256).algorithm(JWSAlgorithm.HS256).build());
      } else {
        s.problem("--auth-hs256-key is refused here: this server faces the internet and must hold no key that can "
            + "sign tokens; give it the public keys in --auth-jwks-file");
      }
    }
    if (jwks != null) {
      try {
        for (JWK key : JWKSet.load(Path.of(jwks).toFile()).getKeys()) {
          if (key.isPrivate() || key instanceof OctetSequenceKey) {
            s.problem("--auth-jwks-file=" + jwks + " holds a key that can sign (kid " + key.getKeyID()
                + "); give verifiers the public keys only");
          } else {
            keys.add(key);
          }
        }
      } catch (Exception e) {
        s.problem("--auth-jwks-file=" + jwks + " is not a readable JWK set: " + e.getMessage());
      }
    }
    if (keys.isEmpty()) {
      return OFF;
    }
    return new Tokens(processor(new JWKSet(keys), issuer, audience, skewSeconds), tenantClaim, skewSeconds);
  }

  /** Verification with these keys, requiring {@code audience}; tests and tools use it. */
  public static Tokens of(JWKSet keys, String issuer, String audience) {
    return of(keys, issuer, audience, 30);
  }

  /** As {@link #of(JWKSet, String, String)}, with this leeway on exp and nbf. */
  static Tokens of(JWKSet keys, String issuer, String audience, int skewSeconds) {
    return new Tokens(processor(keys, issuer, audience, skewSeconds), "tenant", skewSeconds);
  }

  private static DefaultJWTProcessor<SecurityContext> processor(JWKSet keys, String issuer, String audience,
      int skewSeconds) {
    DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
    p.setJWSKeySelector(new JWSVerificationKeySelector<>(ALGORITHMS, new ImmutableJWKSet<>(keys)));
    JWTClaimsSet exact = issuer == null ? new JWTClaimsSet.Builder().build()
        : new JWTClaimsSet.Builder().issuer(issuer).build();
    DefaultJWTClaimsVerifier<SecurityContext> claims = new DefaultJWTClaimsVerifier<>(audience, exact,
        Set.of("exp", "sub", "aud"));
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
    HashCode key = Hashing.sha256().hashString(token, StandardCharsets.UTF_8);
    Verified known = verified.getIfPresent(key);
    if (known != null) {
      if (System.currentTimeMillis() < known.untilMillis()) {
        return known.caller();
      }
      verified.invalidate(key); // expired: the full check below says so
    }
    JWTClaimsSet claims = check(token);
    Caller caller = caller(claims);
    // exp is required, so a token that verified has one.
    verified.put(key, new Verified(caller, claims.getExpirationTime().getTime() + skewMillis));
    return caller;
  }

  /** Every check of the signature and the claims; the claims, or a {@link Rejection}. */
  private JWTClaimsSet check(String token) {
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
    return claims;
  }

  private Caller caller(JWTClaimsSet claims) {
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

  /** A fresh ES256 signing key (P-256) with a random key id: what the local launcher and make-secrets issue with. */
  public static ECKey newSigningKey() {
    try {
      return new ECKeyGenerator(Curve.P_256).keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.ES256)
          .keyIDFromThumbprint(true).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot generate a P-256 key", e);
    }
  }

  /**
   * A token for {@code subject}, scoped to {@code tenant} (null for none) with these roles and
   * audiences, valid for {@code ttl}, signed with {@code key}: ES256 for an EC key, RS256 for an
   * RSA key, HS256 for a symmetric one.
   */
  public static String sign(JWK key, String subject, String tenant, List<String> roles, List<String> audiences,
      Duration ttl) {
    Instant now = Instant.now();
    JWTClaimsSet.Builder claims = new JWTClaimsSet.Builder().subject(subject).issueTime(Date.from(now))
        .expirationTime(Date.from(now.plus(ttl))).audience(audiences).claim(ROLES_CLAIM, roles);
    if (tenant != null) {
      claims.claim("tenant", tenant);
    }
    try {
      JWSAlgorithm algorithm;
      JWSSigner signer;
      if (key instanceof ECKey ec) {
        algorithm = JWSAlgorithm.ES256;
        signer = new ECDSASigner(ec);
      } else if (key instanceof RSAKey rsa) {
        algorithm = JWSAlgorithm.RS256;
        signer = new RSASSASigner(rsa);
      } else if (key instanceof OctetSequenceKey secret) {
        algorithm = JWSAlgorithm.HS256;
        signer = new MACSigner(secret);
      } else {
        throw new IllegalArgumentException("cannot sign with a " + key.getKeyType() + " key");
      }
      SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(algorithm).type(JOSEObjectType.JWT)
          .keyID(key.getKeyID()).build(), claims.build());
      jwt.sign(signer);
      return jwt.serialize();
    } catch (JOSEException e) {
      throw new IllegalArgumentException("cannot sign with this key: " + e.getMessage(), e);
    }
  }

  /** An HS256 token signed with a shared secret; for services configured with --auth-hs256-key. */
  public static String hs256(byte[] key, String subject, String tenant, List<String> roles, List<String> audiences,
      Duration ttl) {
    return sign(new OctetSequenceKey.Builder(key).build(), subject, tenant, roles, audiences, ttl);
  }
}
