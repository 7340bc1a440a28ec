package fortress.core.security;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A server's trust in client certificates: the reloading CA trust, naming no CA in the server's
 * certificate request. Netty's OpenSSL server fixes the names it sends when its context is built,
 * so after a CA rotation it would still name only the old CA, and clients that pick their
 * certificate by those names (Go's crypto/tls, as in grpcurl; the JDK's key managers) would send
 * none and be refused. With no names a client may send any certificate (RFC 5246 7.4.4, RFC 8446
 * 4.2.4); whether it is accepted is decided against the current CAs, as before.
 */
final class ClientCertificateTrust extends X509ExtendedTrustManager {
  private static final X509Certificate[] NONE = new X509Certificate[0];
  private final X509ExtendedTrustManager trust;

  ClientCertificateTrust(X509ExtendedTrustManager trust) {
    this.trust = trust;
  }

  /** None: see the class comment. */
  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return NONE;
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    trust.checkClientTrusted(chain, authType, engine);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    trust.checkClientTrusted(chain, authType, socket);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    trust.checkClientTrusted(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    trust.checkServerTrusted(chain, authType, engine);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    trust.checkServerTrusted(chain, authType, socket);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
    trust.checkServerTrusted(chain, authType);
  }
}
