package fortress.core.security;

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
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * TLS for one process, from PEM files: the certificate it serves with (and presents as a client),
 * its key, and the CA it trusts for the servers it calls and, with mTLS, for its clients. Without a
 * certificate it serves plaintext; without a CA it calls plaintext.
 */
public record Tls(Path certFile, Path keyFile, Path caFile, boolean clientCertRequired) {
  public static final Tls OFF = new Tls(null, null, null, false);

  /** Reads the --tls-* settings, checking the files can be read. */
  public static Tls read(Settings s) {
    Path cert = file(s, "tls-cert-file", "PEM certificate chain served (and presented to servers this process "
        + "calls); unset serves plaintext");
    Path key = file(s, "tls-key-file", "PEM PKCS#8 private key of --tls-cert-file");
    Path ca = file(s, "tls-ca-file", "PEM CA certificates trusted for the servers this process calls and for "
        + "client certificates; unset calls plaintext");
    boolean require = s.bool("tls-client-auth", false, "require every client to present a certificate signed by "
        + "--tls-ca-file (mTLS)");
    if ((cert == null) != (key == null)) {
      s.problem("--tls-cert-file and --tls-key-file go together: set both or neither");
    }
    if (require && (cert == null || ca == null)) {
      s.problem("--tls-client-auth=true needs --tls-cert-file, --tls-key-file and --tls-ca-file");
    }
    return new Tls(cert, key, ca, require);
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

  /** Whether the listener speaks TLS. */
  public boolean serves() {
    return certFile != null;
  }

  /** Whether outbound calls speak TLS. */
  public boolean dials() {
    return caFile != null;
  }

  /** Puts TLS (and mTLS, if required) on a Netty server builder; plaintext leaves it alone. */
  public NettyServerBuilder applyTo(NettyServerBuilder builder) {
    if (!serves()) {
      return builder;
    }
    try {
      SslContextBuilder ssl = GrpcSslContexts.forServer(certFile.toFile(), keyFile.toFile());
      if (caFile != null) {
        ssl.trustManager(caFile.toFile()).clientAuth(clientCertRequired ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL);
      }
      return builder.sslContext(ssl.build());
    } catch (IOException e) {
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

  private SslContext clientContext() {
    try {
      SslContextBuilder ssl = GrpcSslContexts.forClient().trustManager(caFile.toFile());
      if (certFile != null) {
        ssl.keyManager(certFile.toFile(), keyFile.toFile());
      }
      return ssl.build();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot set up TLS trusting " + caFile, e);
    }
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
