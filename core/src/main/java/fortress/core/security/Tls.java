package fortress.core.security;

import static com.google.common.base.Preconditions.checkArgument;

import fortress.core.Settings;
import io.grpc.Grpc;
import io.grpc.ServerCall;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * TLS for one process, from PEM files: the certificate it serves with (and presents as a client),
 * its key, and the CA it trusts for the servers it calls and, with mTLS, for its clients. Without a
 * certificate it serves plaintext; without a CA it calls plaintext.
 *
 * <p>The files are read when the first server or channel is set up and then every
 * {@link #reloadIntervalMs()}, so certificates and CAs renewed in place are used by new connections
 * without a restart (see {@link TlsCredentials}, which also says what a bad renewal does). The
 * server and every channel of one {@code Tls} share what was read; {@link #close()} stops reading.
 */
public final class Tls implements AutoCloseable {
  public static final Tls OFF = new Tls(null, null, null, false);
  /** How often the files are read again by default: well within cert-manager's renewal margin. */
  public static final long RELOAD_INTERVAL_MS_DEFAULT = 60_000;
  public static final long RELOAD_INTERVAL_MS_MIN = 100;
  public static final long RELOAD_INTERVAL_MS_MAX = 3_600_000;

  private final Path certFile;
  private final Path keyFile;
  private final Path caFile;
  private final boolean clientCertRequired;
  private final long reloadIntervalMs;
  /** Read on first use; guarded by this. */
  private TlsCredentials credentials;

  /** With the files read again every {@link #RELOAD_INTERVAL_MS_DEFAULT}. */
  public Tls(Path certFile, Path keyFile, Path caFile, boolean clientCertRequired) {
    this(certFile, keyFile, caFile, clientCertRequired, RELOAD_INTERVAL_MS_DEFAULT);
  }

  public Tls(Path certFile, Path keyFile, Path caFile, boolean clientCertRequired, long reloadIntervalMs) {
    checkArgument((certFile == null) == (keyFile == null), "a TLS certificate and its key go together");
    checkArgument(!clientCertRequired || (certFile != null && caFile != null),
        "requiring client certificates needs a certificate, its key and a CA");
    checkArgument(reloadIntervalMs >= RELOAD_INTERVAL_MS_MIN && reloadIntervalMs <= RELOAD_INTERVAL_MS_MAX,
        "the TLS reload interval is %s..%s ms: %s", RELOAD_INTERVAL_MS_MIN, RELOAD_INTERVAL_MS_MAX, reloadIntervalMs);
    this.certFile = certFile;
    this.keyFile = keyFile;
    this.caFile = caFile;
    this.clientCertRequired = clientCertRequired;
    this.reloadIntervalMs = reloadIntervalMs;
  }

  /** Reads the --tls-* settings, checking the files can be read. */
  public static Tls read(Settings s) {
    Path cert = file(s, "tls-cert-file", "PEM certificate chain served (and presented to servers this process "
        + "calls); unset serves plaintext");
    Path key = file(s, "tls-key-file", "PEM PKCS#8 private key of --tls-cert-file");
    Path ca = file(s, "tls-ca-file", "PEM CA certificates trusted for the servers this process calls and for "
        + "client certificates; unset calls plaintext");
    boolean require = s.bool("tls-client-auth", false, "require every client to present a certificate signed by "
        + "--tls-ca-file (mTLS)");
    long reloadIntervalMs = s.number("tls-reload-interval-ms", RELOAD_INTERVAL_MS_DEFAULT, RELOAD_INTERVAL_MS_MIN,
        RELOAD_INTERVAL_MS_MAX, "how often the --tls-* files are read again, so that renewed certificates and CAs "
        + "reach new connections without a restart");
    if ((cert == null) != (key == null)) {
      s.problem("--tls-cert-file and --tls-key-file go together: set both or neither");
      return OFF;
    }
    if (require && (cert == null || ca == null)) {
      s.problem("--tls-client-auth=true needs --tls-cert-file, --tls-key-file and --tls-ca-file");
      return OFF;
    }
    return new Tls(cert, key, ca, require, reloadIntervalMs);
  }

  private static Path file(Settings s, String name, String description) {
    String value = s.string(name, null, description);
    if (value == null) {
      return null;
    }
    Path path = Path.of(value);
    if (!Files.isReadable(path)) {
      s.problem("--" + name + "=" + value + " cannot be read");
    }
    return path;
  }

  /** PEM certificate chain served and presented; null without TLS on the listener. */
  public Path certFile() {
    return certFile;
  }

  /** PEM PKCS#8 private key of {@link #certFile()}; null without it. */
  public Path keyFile() {
    return keyFile;
  }

  /** PEM CA certificates trusted; null for plaintext calls. */
  public Path caFile() {
    return caFile;
  }

  /** Whether every client must present a certificate signed by the CA (mTLS). */
  public boolean clientCertRequired() {
    return clientCertRequired;
  }

  /** How often the files are read again. */
  public long reloadIntervalMs() {
    return reloadIntervalMs;
  }

  /** Whether the listener speaks TLS. */
  public boolean serves() {
    return certFile != null;
  }

  /** Whether outbound calls speak TLS. */
  public boolean dials() {
    return caFile != null;
  }

  /**
   * Puts TLS (and mTLS, if required) on a Netty server builder; plaintext leaves it alone. With a CA,
   * client certificates are verified against it, and required with {@link #clientCertRequired()};
   * the certificate request names no CA (see {@link ClientCertificateTrust}).
   */
  public NettyServerBuilder applyTo(NettyServerBuilder builder) {
    if (!serves()) {
      return builder;
    }
    TlsCredentials current = credentials();
    try {
      SslContextBuilder ssl = GrpcSslContexts.configure(SslContextBuilder.forServer(current.identity()));
      if (current.trust() != null) {
        ssl.trustManager(new ClientCertificateTrust(current.trust()))
            .clientAuth(clientCertRequired ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL);
      }
      return builder.sslContext(ssl.build());
    } catch (SSLException e) {
      throw new UncheckedIOException("cannot set up TLS from " + certFile + " and " + keyFile, e);
    }
  }

  /** A channel builder to {@code target}: TLS trusting the CA (with this process's certificate, if any), or plaintext. */
  public NettyChannelBuilder channel(String target) {
    NettyChannelBuilder builder = NettyChannelBuilder.forTarget(target);
    if (!dials()) {
      return builder.usePlaintext();
    }
    return builder.sslContext(clientContext());
  }

  /** The server's host name is verified against its certificate, as well as the certificate against the CA. */
  private SslContext clientContext() {
    TlsCredentials current = credentials();
    try {
      SslContextBuilder ssl = GrpcSslContexts.forClient().trustManager(current.trust());
      if (current.identity() != null) {
        ssl.keyManager(current.identity());
      }
      return ssl.build();
    } catch (SSLException e) {
      throw new UncheckedIOException("cannot set up TLS trusting " + caFile, e);
    }
  }

  /** The credentials every context of this process shares, read (and reloading) from the first use on. */
  private synchronized TlsCredentials credentials() {
    if (credentials == null) {
      try {
        credentials = TlsCredentials.start(certFile, keyFile, caFile, reloadIntervalMs);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read TLS files " + files(), e);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("cannot set up TLS from " + files() + ": " + e.getMessage(), e);
      }
    }
    return credentials;
  }

  /**
   * Stops reading the files again; servers and channels already set up keep what was last read.
   * Processes need not call it (the reading thread is a daemon); tests and embedders that make many do.
   */
  @Override
  public synchronized void close() {
    if (credentials != null) {
      credentials.close();
    }
  }

  private String files() {
    return Stream.of(certFile, keyFile, caFile).filter(Objects::nonNull).map(Path::toString)
        .collect(Collectors.joining(", "));
  }

  @Override
  public String toString() {
    return "Tls[cert=" + certFile + ", key=" + keyFile + ", ca=" + caFile + ", clientCertRequired="
        + clientCertRequired + ", reloadIntervalMs=" + reloadIntervalMs + "]";
  }

  /**
   * The common name of the certificate a client presented on this call, if it presented one
   * (and the server verified it against the CA).
   */
  public static Optional<String> peerName(ServerCall<?, ?> call) {
    SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    if (session == null) {
      return Optional.empty();
    }
    try {
      Certificate[] chain = session.getPeerCertificates();
      if (chain.length == 0 || !(chain[0] instanceof X509Certificate x509)) {
        return Optional.empty();
      }
      for (Rdn rdn : new LdapName(x509.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          return Optional.of(rdn.getValue().toString());
        }
      }
      return Optional.empty();
    } catch (SSLPeerUnverifiedException | javax.naming.InvalidNameException e) {
      return Optional.empty();
    }
  }
}
