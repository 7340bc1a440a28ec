package fortress.core.security;

import fortress.core.Settings;
import fortress.core.rpc.HealthPort;
import io.grpc.ClientInterceptor;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * One server's security settings: TLS, the tokens it verifies, the node token this cluster member
 * presents to the others when mTLS is off, the hashes of every member's node token (on a server
 * that verifies members), and the {@link Limits} every caller is held to. Secrets never appear in
 * {@link #toString()}.
 */
public record Security(Tls tls, Tokens tokens, byte[] nodeToken, List<Guard.Members.Token> memberTokens,
    Limits limits, HealthPort.Config healthPort) {
  public static final Security OFF = new Security(Tls.OFF, Tokens.OFF, null, List.of(), Limits.DEFAULT);
  /** The flag naming the file of every member's node-token hash. */
  public static final String MEMBER_TOKENS_FLAG = "member-tokens-file";
  private static final Pattern MEMBER_NAME = Pattern.compile("[A-Za-z0-9._:-]{1,128}");
  private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-fA-F]{64}");

  public Security {
    memberTokens = List.copyOf(memberTokens);
  }

  /** Without a health-only listener. */
  public Security(Tls tls, Tokens tokens, byte[] nodeToken, List<Guard.Members.Token> memberTokens, Limits limits) {
    this(tls, tokens, nodeToken, memberTokens, limits, HealthPort.Config.OFF);
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
    byte[] nodeToken = member ? s.secret("node-token", 32, "this cluster member's own secret (each ledger node "
        + "and the proxy has its own), sent to the other members when mTLS is off; they know it by its hash in "
        + "--" + MEMBER_TOKENS_FLAG) : null;
    return new Security(tls, verifier, nodeToken, List.of(), Limits.read(s), HealthPort.Config.read(s));
  }

  /**
   * This configuration, verifying cluster members by their own node tokens: reads
   * {@code --member-tokens-file}, a text file of one line per member, {@code <name> <sha256 hex>}
   * (the name a ledger node's id or {@code proxy}, the hash that of the 32 raw bytes of the
   * member's token); {@code #} comments and blank lines are allowed. Under mTLS members are known
   * by their certificates and the file is not consulted.
   */
  public Security verifyingMembers(Settings s) {
    String file = s.string(MEMBER_TOKENS_FLAG, null, "with mTLS off, the members whose calls this node "
        + "accepts: one line '<member-name> <sha256 hex of the 32 raw bytes of its node token>' per ledger node and "
        + "for 'proxy'; # comments allowed");
    if (file == null) {
      return this;
    }
    return new Security(tls, tokens, nodeToken, readMemberTokens(s, Path.of(file)), limits, healthPort);
  }

  private static List<Guard.Members.Token> readMemberTokens(Settings s, Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      s.problem("--" + MEMBER_TOKENS_FLAG + "=" + file + " cannot be read: " + e.getMessage());
      return List.of();
    }
    List<Guard.Members.Token> tokens = new ArrayList<>();
    Set<String> names = new HashSet<>();
    Set<String> hashes = new HashSet<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      line = (line.indexOf('#') >= 0 ? line.substring(0, line.indexOf('#')) : line).strip();
      if (line.isEmpty()) {
        continue;
      }
      String[] parts = line.split("\\s+");
      String where = "--" + MEMBER_TOKENS_FLAG + "=" + file + " line " + (i + 1);
      if (parts.length != 2 || !MEMBER_NAME.matcher(parts[0]).matches() || !SHA256_HEX.matcher(parts[1]).matches()) {
        s.problem(where + " must read '<member-name> <64 hex digits of SHA-256>'");
        continue;
      }
      String hash = parts[1].toLowerCase(Locale.ROOT);
      if (!names.add(parts[0]) || !hashes.add(hash)) {
        s.problem(where + " repeats a member name or a token hash: each member has its own token");
        continue;
      }
      tokens.add(new Guard.Members.Token(parts[0], HexFormat.of().parseHex(hash)));
    }
    if (tokens.isEmpty()) {
      s.problem("--" + MEMBER_TOKENS_FLAG + "=" + file + " lists no member");
    }
    return tokens;
  }

  /** The SHA-256 of a node token's raw bytes, in hex: its line in {@code --member-tokens-file} is {@code <name> <this>}. */
  public static String memberTokenHash(byte[] nodeToken) {
    return HexFormat.of().formatHex(Guard.sha256(nodeToken));
  }

  /** A Netty server builder listening on {@code host:port}, with this server's TLS and limits. */
  public NettyServerBuilder server(String host, int port) {
    return limits.applyTo(tls.applyTo(NettyServerBuilder.forAddress(new InetSocketAddress(host, port))));
  }

  /**
   * Starts the plaintext health-only listener beside {@code main}, if --health-port is set, serving
   * {@code health}; it stops when {@code main} does (see {@link HealthPort#start}).
   */
  public HealthPort healthPort(HealthStatusManager health, Server main) throws IOException {
    return HealthPort.start(healthPort, limits, health, main);
  }

  /** The interceptor builder for this server's call rules, with its tokens and public-call cap. */
  public Guard.Builder guard(Guard.Members members) {
    return Guard.builder(tokens, members).publicCallsMax(limits.publicCallsMax());
  }

  /**
   * How this server recognises cluster members: by certificate under mTLS, or else by the hashes of
   * their own node tokens; OFF (every member call let through) with neither.
   */
  public Guard.Members members(Supplier<Set<String>> nodeNames) {
    if (tls.clientCertRequired()) {
      return new Guard.Members(List.of(), true, nodeNames, PROXY_NAME);
    }
    return new Guard.Members(memberTokens, false, nodeNames, PROXY_NAME);
  }

  /** Whether this server can tell one cluster member from another: mTLS, or per-member tokens. */
  public boolean identifiesMembers() {
    return tls.clientCertRequired() || !memberTokens.isEmpty();
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
        + ", node-token=" + (nodeToken == null ? "unset" : "set")
        + (memberTokens.isEmpty() ? "" : ", member-tokens=" + memberTokens.size());
  }

  @Override
  public String toString() {
    return "Security[" + describe() + "]";
  }
}
