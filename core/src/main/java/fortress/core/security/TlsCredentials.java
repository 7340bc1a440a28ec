package fortress.core.security;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import io.grpc.util.CertificateUtils;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One process's TLS identity (certificate chain and private key) and trust (CA certificates), read
 * from PEM files and read again every reload interval, so that certificates renewed in place (as
 * cert-manager's csi-driver does, at two-thirds of their lifetime) are used without a restart.
 * Every SSL context of the process shares the two managers: each new handshake uses what was last
 * read; connections already open keep the certificates they were set up with.
 *
 * <p>A change is taken only whole: files that cannot be read, a chain with no certificate, a key
 * that is not PEM PKCS#8 or does not match the chain's first certificate (a renewal caught between
 * its two files), or a CA file with no certificate leave the last good credentials in place and log
 * one warning per change, naming the files and never key material. The next change is tried again.
 *
 * <p>The files are compared by content, not modification time, so a renewal that rewrites one file
 * (a reused key) is seen, and one warning is logged per bad content rather than per interval.
 */
final class TlsCredentials implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TlsCredentials.class);

  private final Path certFile;
  private final Path keyFile;
  private final Path caFile;
  /** What the process presents; null without a certificate. */
  private final AdvancedTlsX509KeyManager identity;
  /** Whom the process trusts; null without a CA. */
  private final AdvancedTlsX509TrustManager trust;
  private final ScheduledExecutorService reloads;
  // The content (a SHA-256) or read failure last looked at; touched only by the reload thread after start.
  private String identitySeen;
  private String trustSeen;

  private TlsCredentials(Path certFile, Path keyFile, Path caFile) throws IOException, GeneralSecurityException {
    this.certFile = certFile;
    this.keyFile = keyFile;
    this.caFile = caFile;
    if (certFile == null) {
      identity = null;
    } else {
      byte[] chain = Files.readAllBytes(certFile);
      byte[] key = Files.readAllBytes(keyFile);
      identity = new AdvancedTlsX509KeyManager();
      Identity first = parseIdentity(chain, key);
      identity.updateIdentityCredentials(first.chain(), first.key());
      identitySeen = digest(chain, key);
    }
    if (caFile == null) {
      trust = null;
    } else {
      byte[] bundle = Files.readAllBytes(caFile);
      trust = AdvancedTlsX509TrustManager.newBuilder()
          .setVerification(AdvancedTlsX509TrustManager.Verification.CERTIFICATE_AND_HOST_NAME_VERIFICATION)
          .build();
      trust.updateTrustCredentials(parseCas(bundle));
      trustSeen = digest(bundle);
    }
    reloads = Executors.newSingleThreadScheduledExecutor(
        new ThreadFactoryBuilder().setNameFormat("tls-reload-%d").setDaemon(true).build());
  }

  /**
   * Reads the files (failing if they do not hold valid credentials) and re-reads them every
   * {@code reloadIntervalMs} until {@link #close()}. {@code certFile} and {@code keyFile} go
   * together; either they or {@code caFile} may be null.
   */
  static TlsCredentials start(Path certFile, Path keyFile, Path caFile, long reloadIntervalMs)
      throws IOException, GeneralSecurityException {
    checkArgument((certFile == null) == (keyFile == null), "a certificate and its key go together");
    checkArgument(certFile != null || caFile != null, "TLS credentials need a certificate or a CA");
    checkArgument(reloadIntervalMs > 0, "the reload interval is positive: %s ms", reloadIntervalMs);
    TlsCredentials credentials = new TlsCredentials(certFile, keyFile, caFile);
    credentials.reloads.scheduleWithFixedDelay(credentials::reload, reloadIntervalMs, reloadIntervalMs,
        TimeUnit.MILLISECONDS);
    return credentials;
  }

  /** The identity for {@code SslContextBuilder.keyManager}; null without a certificate. */
  AdvancedTlsX509KeyManager identity() {
    return identity;
  }

  /** The trust for {@code SslContextBuilder.trustManager}; null without a CA. */
  AdvancedTlsX509TrustManager trust() {
    return trust;
  }

  /** Stops reading the files; contexts built on these credentials keep the ones last read. */
  @Override
  public void close() {
    reloads.shutdownNow();
  }

  private void reload() {
    try {
      if (identity != null) {
        reloadIdentity();
      }
      if (trust != null) {
        reloadTrust();
      }
    } catch (RuntimeException e) {
      // Thrown out of a scheduled task it would end the reloading for good; the credentials stay as they are.
      log.error("TLS credentials from {}, {} and {} not reloaded, keeping the previous ones", certFile, keyFile,
          caFile, e);
    }
  }

  private void reloadIdentity() {
    byte[] chain;
    byte[] key;
    try {
      chain = Files.readAllBytes(certFile);
      key = Files.readAllBytes(keyFile);
    } catch (IOException e) {
      if (!e.toString().equals(identitySeen)) {
        identitySeen = e.toString();
        log.warn("TLS certificate {} or key {} cannot be read, keeping the previous ones: {}", certFile, keyFile,
            e.toString());
      }
      return;
    }
    String seen = digest(chain, key);
    if (seen.equals(identitySeen)) {
      return;
    }
    identitySeen = seen;
    try {
      Identity next = parseIdentity(chain, key);
      identity.updateIdentityCredentials(next.chain(), next.key());
      log.info("TLS certificate reloaded from {}: {}", certFile, describe(next.chain()[0]));
    } catch (GeneralSecurityException e) {
      log.warn("TLS certificate {} and key {} not reloaded, keeping the previous ones: {}", certFile, keyFile,
          e.getMessage());
    }
  }

  private void reloadTrust() {
    byte[] bundle;
    try {
      bundle = Files.readAllBytes(caFile);
    } catch (IOException e) {
      if (!e.toString().equals(trustSeen)) {
        trustSeen = e.toString();
        log.warn("TLS CA file {} cannot be read, keeping the previous CAs: {}", caFile, e.toString());
      }
      return;
    }
    String seen = digest(bundle);
    if (seen.equals(trustSeen)) {
      return;
    }
    trustSeen = seen;
    try {
      X509Certificate[] cas = parseCas(bundle);
      trust.updateTrustCredentials(cas);
      log.info("TLS CAs reloaded from {}: {} certificate(s)", caFile, cas.length);
    } catch (IOException | GeneralSecurityException e) {
      log.warn("TLS CA file {} not reloaded, keeping the previous CAs: {}", caFile, e.getMessage());
    }
  }

  private record Identity(X509Certificate[] chain, PrivateKey key) {}

  private Identity parseIdentity(byte[] chainPem, byte[] keyPem) throws GeneralSecurityException {
    X509Certificate[] chain = CertificateUtils.getX509Certificates(new ByteArrayInputStream(chainPem));
    if (chain.length == 0) {
      throw new GeneralSecurityException(certFile + " holds no PEM certificate");
    }
    PrivateKey key;
    try {
      key = CertificateUtils.getPrivateKey(new ByteArrayInputStream(keyPem));
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      // Only the kind of failure: a parser's message may quote the key's bytes.
      throw new GeneralSecurityException(keyFile + " is not a whole PEM PKCS#8 RSA or EC private key ("
          + e.getClass().getSimpleName() + ")");
    }
    if (!matches(key, chain[0].getPublicKey())) {
      throw new GeneralSecurityException(keyFile + " is not the key of the first certificate in " + certFile);
    }
    return new Identity(chain, key);
  }

  private X509Certificate[] parseCas(byte[] bundle) throws GeneralSecurityException {
    X509Certificate[] cas = CertificateUtils.getX509Certificates(new ByteArrayInputStream(bundle));
    if (cas.length == 0) {
      throw new GeneralSecurityException(caFile + " holds no PEM certificate");
    }
    return cas;
  }

  /** Whether {@code key} signs what {@code publicKey} verifies: the certificate is the key's. */
  private static boolean matches(PrivateKey key, PublicKey publicKey) throws GeneralSecurityException {
    String algorithm = switch (key.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      default -> throw new GeneralSecurityException("unsupported private key algorithm " + key.getAlgorithm());
    };
    byte[] probe = new byte[32];
    new SecureRandom().nextBytes(probe);
    Signature signer = Signature.getInstance(algorithm);
    signer.initSign(key);
    signer.update(probe);
    byte[] signature = signer.sign();
    Signature verifier = Signature.getInstance(algorithm);
    try {
      verifier.initVerify(publicKey);
      verifier.update(probe);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false; // a public key of another algorithm: not this key's certificate
    }
  }

  private static String describe(X509Certificate certificate) {
    return certificate.getSubjectX500Principal().getName() + ", serial " + certificate.getSerialNumber().toString(16)
        + ", valid until " + certificate.getNotAfter().toInstant();
  }

  private static String digest(byte[]... contents) {
    Hasher sha256 = Hashing.sha256().newHasher();
    for (byte[] content : contents) {
      sha256.putInt(content.length).putBytes(content);
    }
    return sha256.hash().toString();
  }
}
