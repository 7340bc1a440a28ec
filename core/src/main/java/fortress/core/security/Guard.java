package fortress.core.security;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import com.google.common.collect.Iterables;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import fortress.auth.v1.ErrorReason;
import fortress.core.rpc.Rejection;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.StatusRuntimeException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * Lets a call reach its service only if the caller may make it. Each method (or whole service)
 * has a {@link Rule}; a method nobody listed needs the admin role. Refusals are
 * UNAUTHENTICATED (no, bad or expired credentials) or PERMISSION_DENIED (the wrong caller), with
 * an ErrorInfo reason from {@link ErrorReason} (fortress.auth.v1), and the service never sees the call.
 */
public final class Guard implements ServerInterceptor {
  /** The header carrying the bearer token: {@code authorization: Bearer <jwt>}. */
  public static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization",
      Metadata.ASCII_STRING_MARSHALLER);
  /** The header a cluster member presents its node token in, when mTLS is off. */
  public static final Metadata.Key<String> NODE_TOKEN = Metadata.Key.of("fortress-node-token",
      Metadata.ASCII_STRING_MARSHALLER);

  /** Who may call. */
  public enum Rule {
    /** Anyone: health checks and reflection. */
    PUBLIC,
    /** Any caller with a valid token. */
    CALLER,
    /** A valid token with a tenant; every tenant_id the request names must be that tenant. */
    TENANT,
    /** A valid token with the admin role. */
    ADMIN,
    /** A cluster member: a ledger node or the proxy. */
    MEMBER,
    /** A ledger node. */
    NODE,
    /** A valid token with the role the method names (see {@link Builder#allowRole}), or the admin role. */
    ROLE
  }

  /**
   * How cluster members prove who they are, each under its own name (a ledger node's id, or
   * {@code proxyName}): under mTLS by the common name of the certificate it presented, and then by
   * nothing else; with mTLS off by its own node token, which the verifier knows only as a SHA-256
   * hash listed under the member's name (so a verifier cannot present another member's token).
   * With neither configured, member checks are off (a local cluster without TLS or tokens).
   */
  public record Members(List<Token> tokens, boolean certificates, Supplier<Set<String>> nodeNames,
      String proxyName) {
    public static final Members OFF = new Members(List.of(), false, Set::of, "proxy");

    /** One member's node token, as its verifiers hold it: the member's name and the SHA-256 of the 32 raw bytes. */
    public record Token(String name, byte[] sha256) {
      public Token {
        checkArgument(name != null && !name.isBlank(), "a member token needs a name");
        checkArgument(sha256 != null && sha256.length == 32, "a member token's hash is 32 bytes of SHA-256");
        sha256 = sha256.clone();
      }
    }

    public Members {
      tokens = List.copyOf(tokens);
    }

    boolean checked() {
      return certificates || !tokens.isEmpty();
    }

    /**
     * The name of the member whose token this is (base64 of its bytes), if any. Every listed hash
     * is compared, in constant time, whatever matches first.
     */
    Optional<String> identify(String presented) {
      byte[] raw;
      try {
        raw = Base64.getDecoder().decode(presented.trim());
      } catch (IllegalArgumentException e) {
        return Optional.empty();
      }
      byte[] hash = sha256(raw);
      String found = null;
      for (Token t : tokens) {
        if (matches(hash, t.sha256()) && found == null) {
          found = t.name();
        }
      }
      return Optional.ofNullable(found);
    }
  }

  private final Map<String, Rule> rules;
  private final Map<String, String> roles;
  private final Tokens tokens;
  private final Members members;
  private final PublicStreams publicStreams;

  private Guard(Builder b) {
    this.rules = Map.copyOf(b.rules);
    this.roles = Map.copyOf(b.roles);
    this.tokens = b.tokens;
    this.members = b.members;
    this.publicStreams = new PublicStreams(b.publicCallsMax);
  }

  public static Builder builder(Tokens tokens, Members members) {
    return new Builder(tokens, members);
  }

  /** Rules by service or method name ({@code pkg.Service} or {@code pkg.Service/Method}); health and reflection are public. */
  public static final class Builder {
    private final Map<String, Rule> rules = new HashMap<>();
    private final Map<String, String> roles = new HashMap<>();
    private final Tokens tokens;
    private final Members members;
    private int publicCallsMax = Limits.DEFAULT.publicCallsMax();

    private Builder(Tokens tokens, Members members) {
      this.tokens = tokens;
      this.members = members;
      rules.put("grpc.health.v1.Health", Rule.PUBLIC);
      rules.put("grpc.reflection.v1.ServerReflection", Rule.PUBLIC);
      rules.put("grpc.reflection.v1alpha.ServerReflection", Rule.PUBLIC);
    }

    public Builder allow(String serviceOrMethod, Rule rule) {
      rules.put(serviceOrMethod, rule);
      return this;
    }

    public Builder allow(List<String> methods, Rule rule) {
      methods.forEach(m -> rules.put(m, rule));
      return this;
    }

    /** These methods (or services) need a valid token carrying {@code role}, or the admin role. */
    public Builder allowRole(List<String> methods, String role) {
      methods.forEach(m -> {
        rules.put(m, Rule.ROLE);
        roles.put(m, role);
      });
      return this;
    }

    /** At most this many calls to public methods at once, from all callers together. */
    public Builder publicCallsMax(int max) {
      checkArgument(max > 0, "publicCallsMax must be positive");
      this.publicCallsMax = max;
      return this;
    }

    public Guard build() {
      return new Guard(this);
    }
  }

  Rule rule(String fullMethodName) {
    Rule rule = rules.get(fullMethodName);
    if (rule == null) {
      rule = rules.get(service(fullMethodName));
    }
    return rule == null ? Rule.ADMIN : rule;
  }

  private String role(String fullMethodName) {
    String role = roles.get(fullMethodName);
    return role != null ? role : roles.get(service(fullMethodName));
  }

  private static String service(String fullMethodName) {
    return fullMethodName.substring(0, Math.max(0, fullMethodName.lastIndexOf('/')));
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    Rule rule = rule(method);
    if (rule == Rule.PUBLIC) {
      return call.getMethodDescriptor().getType() == MethodDescriptor.MethodType.UNARY
          ? next.startCall(call, headers) : publicStream(call, headers, next);
    }
    Caller caller;
    try {
      caller = admit(rule, method, call, headers);
    } catch (Rejection r) {
      refuse(call, r);
      return new ServerCall.Listener<>() {};
    }
    Context context = caller == null ? Context.current() : Context.current().withValue(Caller.KEY, caller);
    ServerCall.Listener<Q> listener = Contexts.interceptCall(context, call, headers, next);
    if (rule != Rule.TENANT || caller == null) {
      return listener;
    }
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
      private boolean refused;

      @Override
      public void onMessage(Q message) {
        if (refused) {
          return;
        }
        Rejection wrongTenant = message instanceof Message m ? scope(m, caller.tenant()) : null;
        if (wrongTenant != null) {
          refused = true;
          refuse(call, wrongTenant);
          return;
        }
        super.onMessage(message);
      }

      @Override
      public void onHalfClose() {
        if (!refused) {
          super.onHalfClose();
        }
      }
    };
  }

  /**
   * A streaming call to a public method (a health Watch, reflection), if fewer than the cap are
   * open: anyone may start one and it lives until the caller leaves, so together they are
   * bounded. Unary public calls (a health Check, what probes use) end at once and are bounded by
   * the listener's {@link Limits}.
   */
  private <Q, R> ServerCall.Listener<Q> publicStream(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    InetAddress from = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR) instanceof InetSocketAddress a
        ? Limits.client(a.getAddress()) : null;
    if (!publicStreams.open(from)) {
      refuse(call, new Rejection(ErrorReason.PUBLIC_CALLS_EXHAUSTED, "this server already holds "
          + publicStreams.describe() + " streaming calls to public methods; retry later"));
      return new ServerCall.Listener<>() {};
    }
    AtomicBoolean ended = new AtomicBoolean();
    Runnable end = () -> {
      if (ended.compareAndSet(false, true)) {
        publicStreams.close(from);
      }
    };
    ServerCall.Listener<Q> listener;
    try {
      listener = next.startCall(call, headers);
    } catch (RuntimeException e) {
      end.run();
      throw e;
    }
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
      @Override
      public void onComplete() {
        end.run();
        super.onComplete();
      }

      @Override
      public void onCancel() {
        end.run();
        super.onCancel();
      }
    };
  }

  /**
   * The open streaming calls to public methods: at most {@code max} in all, and a quarter of them
   * (at least one) from any one client (see {@link Limits#client}), so one client cannot hold them
   * all; four can.
   */
  private static final class PublicStreams {
    private final int max;
    private final int perAddressMax;
    private final Map<InetAddress, Integer> byAddress = new HashMap<>();
    private int open;

    PublicStreams(int max) {
      this.max = max;
      this.perAddressMax = Math.max(1, max / 4);
    }

    synchronized boolean open(InetAddress from) {
      int fromAddress = from == null ? 0 : byAddress.getOrDefault(from, 0);
      if (open >= max || fromAddress >= perAddressMax) {
        return false;
      }
      open++;
      if (from != null) {
        byAddress.put(from, fromAddress + 1);
      }
      return true;
    }

    synchronized void close(InetAddress from) {
      checkState(open > 0, "a public stream closed that was never opened");
      open--;
      if (from != null) {
        byAddress.compute(from, (a, n) -> n == null || n <= 1 ? null : n - 1);
      }
    }

    String describe() {
      return "its share (" + perAddressMax + " per client address, " + max + " in all) of";
    }
  }

  private static void refuse(ServerCall<?, ?> call, Rejection r) {
    StatusRuntimeException e = r.toStatus();
    call.close(e.getStatus(), e.getTrailers() == null ? new Metadata() : e.getTrailers());
  }

  /** The caller if the rule lets them in (null when tokens are off); throws the refusal otherwise. */
  private Caller admit(Rule rule, String method, ServerCall<?, ?> call, Metadata headers) {
    switch (rule) {
      case PUBLIC:
        return null;
      case MEMBER:
      case NODE:
        return member(rule, method, call, headers);
      default:
        break;
    }
    if (!tokens.enabled()) {
      return null;
    }
    Iterable<String> all = headers.getAll(AUTHORIZATION);
    if (all != null && Iterables.size(all) > 1) {
      throw new Rejection(ErrorReason.TOKEN_INVALID, "send one authorization header, not several");
    }
    String header = headers.get(AUTHORIZATION);
    if (header == null || header.isBlank()) {
      throw new Rejection(ErrorReason.TOKEN_MISSING, method + " needs a token: send 'authorization: Bearer <token>'");
    }
    if (!header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw new Rejection(ErrorReason.TOKEN_INVALID, "the authorization header must be 'Bearer <token>'");
    }
    Caller caller = tokens.verify(header.substring(7).trim());
    if (rule == Rule.ADMIN && !caller.admin()) {
      throw new Rejection(ErrorReason.ADMIN_REQUIRED, method + " needs a token with the admin role");
    }
    if (rule == Rule.ROLE && !caller.admin() && !caller.roles().contains(role(method))) {
      throw new Rejection(ErrorReason.ROLE_REQUIRED, method + " needs a token with the role " + role(method),
          Map.of("role", role(method)));
    }
    if (rule == Rule.TENANT && caller.tenant() == null) {
      throw new Rejection(ErrorReason.TENANT_REQUIRED, method + " needs a token that names a tenant");
    }
    return caller;
  }

  /**
   * The cluster member making the call (null when member checks are off). Under mTLS it is the
   * certificate's common name and nothing else: a node token is not an alternative. Otherwise it
   * is the name its node token is listed under. No credential is UNAUTHENTICATED, before the
   * request is looked at; a credential of a member this rule does not admit is PERMISSION_DENIED.
   */
  private Caller member(Rule rule, String method, ServerCall<?, ?> call, Metadata headers) {
    if (!members.checked()) {
      return null;
    }
    String name;
    if (members.certificates()) {
      name = Tls.peerName(call).orElseThrow(() -> new Rejection(ErrorReason.TOKEN_MISSING, method
          + " needs a cluster member's certificate"));
    } else {
      Iterable<String> presented = headers.getAll(NODE_TOKEN);
      List<String> values = presented == null ? List.of() : com.google.common.collect.ImmutableList.copyOf(presented);
      if (values.isEmpty() || values.get(0).isBlank()) {
        throw new Rejection(ErrorReason.TOKEN_MISSING, method + " needs a cluster member's node token in the "
            + NODE_TOKEN.name() + " header");
      }
      if (values.size() > 1) {
        throw new Rejection(ErrorReason.TOKEN_INVALID, "send one " + NODE_TOKEN.name() + " header, not "
            + values.size());
      }
      String token = values.get(0);
      name = members.identify(token).orElseThrow(() -> new Rejection(ErrorReason.TOKEN_INVALID,
          "the node token is not one of this cluster's members'"));
    }
    boolean node = members.nodeNames().get().contains(name);
    if (node || (rule == Rule.MEMBER && name.equals(members.proxyName()))) {
      return Caller.member(name);
    }
    throw new Rejection(ErrorReason.PEER_FORBIDDEN, method + " is for "
        + (rule == Rule.NODE ? "ledger nodes" : "ledger nodes and the proxy") + " only, not " + name,
        Map.of("member", name));
  }

  static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  private static boolean matches(byte[] presented, byte[] expected) {
    return MessageDigest.isEqual(presented, expected);
  }

  /** The refusal if the request names a tenant other than the caller's, wherever it nests. */
  private Rejection scope(Message m, String tenant) {
    for (Map.Entry<FieldDescriptor, Object> e : m.getAllFields().entrySet()) {
      FieldDescriptor f = e.getKey();
      if (f.getJavaType() == FieldDescriptor.JavaType.STRING && !f.isRepeated()) {
        String value = (String) e.getValue();
        if (value.isEmpty() || value.equals(tenant)) {
          continue;
        }
        if (f.getName().equals("tenant_id")) {
          return new Rejection(ErrorReason.TENANT_FORBIDDEN, "tenant_id: the token is for another tenant",
              Map.of("field", "tenant_id"));
        }
      } else if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
        List<?> values = f.isRepeated() ? (List<?>) e.getValue() : List.of(e.getValue());
        for (Object v : values) {
          Rejection nested = scope((Message) v, tenant);
          if (nested != null) {
            return nested;
          }
        }
      }
    }
    return null;
  }
}
