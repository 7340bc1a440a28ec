package fortress.core.security;

import fortress.core.Settings;
import fortress.core.rpc.HealthPort;
import io.grpc.ClientInterceptor;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * One server's security settings: TLS, the tokens it verifies, the node token cluster members
 * present to each other when mTLS is off, and the {@link Limits} every caller is held to. Secrets
 * never appear in {@link #toString()}.
 */
public record Security(Tls tls, Tokens tokens, byte[] nodeToken, Limits limits, HealthPort.Config healthPort) {
  public static final Security OFF = new Security(Tls.OFF, Tokens.OFF, null, Limits.DEFAULT);

  /** Without a health-only listener. */
  public Security(Tls tls, Tokens tokens, byte[] nodeToken, Limits limits) {
    this(tls, tokens, nodeToken, limits, HealthPort.Config.OFF);
  }
  /** The certificate common name the proxy presents to ledger nodes under mTLS. */
  public static final String PROXY_NAME = "proxy";

  /**
   * Reads --tls-*, and --auth-* if this server verifies tokens ({@code tokens} is its policy, null
   * if it verifies none), and --node-token if it is a cluster member (a ledger node or the proxy).
   */
  public static Security read(Settings s, Tokens.Policy tokens, boolean member) {
    Tls tls = Tls.read(s);
    Tokens verifier = tokens == null ? Tokens.OFF : Tokens.read(s, tokens);
    byte[] nodeToken = member ? s.secret("node-token", 32, "secret cluster members (ledger nodes and the proxy) "
        + "present to each other; unset with mTLS off leaves node calls unchecked") : null;
    return new Security(tls, verifier, nodeToken, Limits.read(s), HealthPort.Config.read(s));
  }

  /** A Netty server builder listening on {@code host:port}, with this server's TLS and limits. */
  public NettyServerBuilder server(String host, int port) {
    return limits.applyTo(tls.applyTo(NettyServerBuilder.forAddress(new InetSocketAddress(host, port))));
  }

  /** Starts the plaintext health-only listener, if --health-port is set, serving {@code health}. */
  public HealthPort healthPort(HealthStatusManager health) throws IOException {
    return HealthPort.start(healthPort, limits, health);
  }

  /** The interceptor builder for this server's call rules, with its tokens and public-call cap. */
  public Guard.Builder guard(Guard.Members members) {
    return Guard.builder(tokens, members).publicCallsMax(limits.publicCallsMax());
  }

  /** How this server recognises cluster members: by certificate under mTLS, or by the node token. */
  public Guard.Members members(Supplier<Set<String>> nodeNames) {
    return new Guard.Members(nodeToken, tls.clientCertRequired(), nodeNames, PROXY_NAME);
  }

  /** What this member attaches to calls to other members: the node token, if it has one. */
  public List<ClientInterceptor> memberCredentials() {
    if (nodeToken == null) {
      return List.of();
    }
    return List.of(header(Guard.NODE_TOKEN, Base64.getEncoder().encodeToString(nodeToken)));
  }

  /** A client interceptor sending {@code authorization: Bearer <token>} on every call. */
  public static ClientInterceptor bearer(String token) {
    return header(Guard.AUTHORIZATION, "Bearer " + token);
  }

  private static ClientInterceptor header(Metadata.Key<String> key, String value) {
    Metadata headers = new Metadata();
    headers.put(key, value);
    return MetadataUtils.newAttachHeadersInterceptor(headers);
  }

  /** One line for the start-up log. */
  public String describe() {
    return "tls=" + (tls.serves() ? (tls.clientCertRequired() ? "mtls" : "on") : "off")
        + ", tokens=" + (tokens.enabled() ? "verified" : "off")
        + ", node-token=" + (nodeToken == null ? "unset" : "set");
  }

  @Override
  public String toString() {
    return "Security[" + describe() + "]";
  }
}
