package fortress.local;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import fortress.core.Settings;
import fortress.core.security.SecretFiles;
import fortress.core.security.Security;
import fortress.core.security.Tokens;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.text.ParseException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code deploy/k8s/make-secrets} and {@code deploy/k8s/mint-token}: the secrets of a Kubernetes
 * deployment, and tokens for its tenants and operators.
 *
 * <p>{@code make} writes, each file owner-only from creation and never over an existing one: the
 * env files the kustomization turns into Secrets (keys, the public JWK set, the decoy's export
 * token, each cluster member's node token and the hashes ledger nodes check them against, the
 * database credentials) and, apart from them, the private ES256 issuer key that signs tokens. The
 * issuer key stays with the operator; no pod ever gets it.
 *
 * <p>{@code mint} signs one token with the issuer key and prints only the token. Neither command
 * takes a secret as an argument: secrets are made here or read from files.
 */
public final class MakeSecrets {
  static final int EXIT_EXISTS = 1;
  static final int EXIT_FAILED = 1;
  static final int EXIT_USAGE = 2;
  /** The ledger StatefulSet's replicas and the ring's nodes in deploy/k8s. */
  static final int LEDGER_NODES_DEFAULT = 3;
  static final int LEDGER_NODES_MAX = 64;
  static final Duration DECOY_TOKEN_TTL = Duration.ofDays(365);
  static final Duration MINT_TTL_DEFAULT = Duration.ofDays(30);
  static final Duration MINT_TTL_MAX = Duration.ofDays(366);
  static final int KEY_BYTES = 32;
  static final int PASSWORD_CHARS = 32;
  static final String SECRETS_ENV = "secrets.env";
  static final String MEMBER_TOKENS_ENV = "member-tokens.env";
  static final String MEMBER_TOKENS_TXT = "member-tokens.txt";
  static final List<String> DATABASES = List.of("ledger", "shadow", "decoy");
  /** The decoy's subject and role on the shadow server (the local cluster issues the same). */
  static final String DECOY = "decoy";

  private static final String USAGE = """
      Usage:
        make-secrets [--out=DIR] [--issuer-key=FILE] [--ledger-nodes=N] [--redis-url=URL | --redis-url-file=FILE]
        mint-token --issuer-key=FILE --subject=NAME [--tenant=ID] [--roles=a,b] --audience=AUD[,AUD] [--ttl=30d]

      make-secrets writes, owner-only (0600) and never over an existing file:
        DIR/secrets.env          journal-key, card-key, auth-jwks (the PUBLIC JWK set servers verify with),
                                 decoy-shadow-token (the decoy's export token: aud fortress-shadow, role decoy,
                                 1 year) and redis-url if given
        DIR/member-tokens.env    one node token per cluster member: ledger-0 .. ledger-<N-1>, proxy
        DIR/member-tokens.txt    '<member> <sha256 hex of its token>' per member: what ledger nodes check
        DIR/<db>-db.env          username and password of the ledger, shadow and decoy databases
        FILE (--issuer-key)      the PRIVATE ES256 key that signs every token; keep it off the cluster
        --out=DIR                where the env files go (default: the current directory)
        --issuer-key=FILE        where the issuer key goes (default: DIR/issuer.jwk)
        --ledger-nodes=N         ledger nodes to make node tokens for, 1..64 (default: 3, the StatefulSet's)
        --redis-url=URL          the proxy's Redis, without a password (put one with a password in a file)
        --redis-url-file=FILE    a file holding the Redis URL

      mint-token prints one token signed with the issuer key, and nothing else:
        --issuer-key=FILE        the private key make-secrets wrote
        --subject=NAME           sub: who the token stands for
        --tenant=ID              tenant: the only tenant whose accounts it may touch (unset: none)
        --roles=a,b              roles, e.g. admin (default: none)
        --audience=AUD[,AUD]     the services it is good for: fortress-ledger (the proxy and ledger),
                                 fortress-shadow, fortress-decoy
        --ttl=DURATION           how long it is valid: 90m, 12h, 30d (default: 30d, at most 366d)
      """;

  private final SecureRandom random = new SecureRandom();

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs the command {@code args} name (mint, or make by default); the exit status. */
  static int run(String[] args, PrintStream out, PrintStream err) {
    if (Arrays.asList(args).contains("--help")) {
      out.print(USAGE);
      return 0;
    }
    boolean mint = args.length > 0 && args[0].equals("mint");
    String[] flags = args.length > 0 && (mint || args[0].equals("make")) ? Arrays.copyOfRange(args, 1, args.length)
        : args;
    try {
      return mint ? new MakeSecrets().mint(flags, out) : new MakeSecrets().make(flags, out, err);
    } catch (Usage e) {
      err.println((mint ? "mint-token: " : "make-secrets: ") + e.getMessage() + " (--help lists the flags)");
      return EXIT_USAGE;
    } catch (IOException e) {
      err.println((mint ? "mint-token: " : "make-secrets: ") + "cannot write or read a file: " + e);
      return EXIT_FAILED;
    }
  }

  /** A bad flag or input; its message is the one line to print. */
  static final class Usage extends Exception {
    Usage(String message) {
      super(message);
    }
  }

  private int make(String[] args, PrintStream out, PrintStream err) throws Usage, IOException {
    Settings s = new Settings(args, Map.of());
    Path dir = Path.of(s.string("out", ".", "where the env files go"));
    Path issuerFile = Path.of(s.string("issuer-key", dir.resolve("issuer.jwk").toString(), "the issuer key"));
    int nodes = s.integer("ledger-nodes", LEDGER_NODES_DEFAULT, 1, LEDGER_NODES_MAX, "ledger nodes");
    String redisUrl = redisUrl(s);
    finish(s);

    Map<Path, String> files = new LinkedHashMap<>();
    ECKey issuer = Tokens.newSigningKey();
    files.put(issuerFile, issuer.toJSONString() + "\n");
    files.put(dir.resolve(SECRETS_ENV), secretsEnv(issuer, redisUrl));
    Map<String, byte[]> tokens = memberTokens(nodes);
    files.put(dir.resolve(MEMBER_TOKENS_ENV), memberTokensEnv(tokens));
    files.put(dir.resolve(MEMBER_TOKENS_TXT), memberTokensTxt(tokens));
    for (String db : DATABASES) {
      files.put(dir.resolve(db + "-db.env"), "username=fortress\npassword=" + password() + "\n");
    }
    List<String> existing = files.keySet().stream().filter(Files::exists).map(Path::toString).toList();
    if (!existing.isEmpty()) {
      err.println("make-secrets: " + String.join(", ", existing) + " already exist(s); nothing was written. Delete "
          + "them first to make new secrets (data written with the old keys needs the old keys).");
      return EXIT_EXISTS;
    }
    for (Map.Entry<Path, String> file : files.entrySet()) {
      SecretFiles.write(file.getKey(), file.getValue());
    }
    out.println("wrote " + SECRETS_ENV + ", " + MEMBER_TOKENS_ENV + ", " + MEMBER_TOKENS_TXT
        + " and the database credentials in " + dir.toAbsolutePath().normalize() + " (owner-only).");
    out.println("wrote the token issuer key " + issuerFile.toAbsolutePath().normalize() + ": it mints tokens for "
        + "every service. Keep it off the cluster (never mount it into a pod or put it in a Secret) and use it "
        + "only with mint-token.");
    return 0;
  }

  /** The Redis URL, from a flag (refused if it holds a password) or a file; null if neither is set. */
  private static String redisUrl(Settings s) throws Usage {
    String inline = s.string("redis-url", null, "the proxy's Redis, without a password");
    String file = s.string("redis-url-file", null, "a file holding the Redis URL");
    if (inline != null && file != null) {
      s.problem("give --redis-url or --redis-url-file, not both");
      return null;
    }
    String url = inline;
    if (file != null) {
      try {
        url = Files.readString(Path.of(file), StandardCharsets.UTF_8).trim();
      } catch (IOException e) {
        throw new Usage("--redis-url-file=" + file + " cannot be read");
      }
    }
    if (url == null) {
      return null;
    }
    try {
      URI uri = new URI(url);
      if (!Set.of("redis", "rediss").contains(uri.getScheme()) || uri.getHost() == null) {
        s.problem((file == null ? "--redis-url" : "--redis-url-file") + " must be a redis:// or rediss:// URL "
            + "with a host");
      } else if (file == null && uri.getRawUserInfo() != null) {
        s.problem("--redis-url holds a password, which would show on the command line: put the URL in a file and "
            + "pass --redis-url-file=FILE");
      }
    } catch (URISyntaxException e) {
      s.problem((file == null ? "--redis-url" : "--redis-url-file") + " is not a URL");
    }
    if (url.contains("\n")) {
      s.problem("--redis-url-file must hold one line");
    }
    return url;
  }

  private String secretsEnv(ECKey issuer, String redisUrl) {
    StringBuilder env = new StringBuilder()
        .append("journal-key=").append(randomKey()).append('\n')
        .append("card-key=").append(randomKey()).append('\n')
        // Stored with every sealed card; a rotation brings a new id and keeps the old key readable.
        .append("card-key-id=card-").append(java.time.LocalDate.now(java.time.ZoneOffset.UTC)).append('\n')
        // One line of JSON, public keys only: what --auth-jwks-file reads on every server.
        .append("auth-jwks=").append(new JWKSet(issuer.toPublicJWK()).toString(true)).append('\n')
        .append("decoy-shadow-token=").append(Tokens.sign(issuer, DECOY, null, List.of(DECOY),
            List.of(Tokens.Policy.SHADOW.audience()), DECOY_TOKEN_TTL)).append('\n');
    if (redisUrl != null) {
      env.append("redis-url=").append(redisUrl).append('\n');
    }
    return env.toString();
  }

  /** The members' names, ledger-0 .. ledger-(nodes-1) and proxy, each with 32 random bytes. */
  private Map<String, byte[]> memberTokens(int nodes) {
    Map<String, byte[]> tokens = new LinkedHashMap<>();
    for (int i = 0; i < nodes; i++) {
      tokens.put("ledger-" + i, randomBytes());
    }
    tokens.put(Security.PROXY_NAME, randomBytes());
    return tokens;
  }

  private static String memberTokensEnv(Map<String, byte[]> tokens) {
    StringBuilder env = new StringBuilder();
    tokens.forEach((name, token) -> env.append(name).append('=').append(Base64.getEncoder().encodeToString(token))
        .append('\n'));
    return env.toString();
  }

  /** The --member-tokens-file of ledger nodes: each member's name and the SHA-256 of its raw token bytes. */
  static String memberTokensTxt(Map<String, byte[]> tokens) {
    StringBuilder txt = new StringBuilder("# <member> <sha256 hex of its 32 raw token bytes>, made by make-secrets\n");
    tokens.forEach((name, token) -> txt.append(name).append(' ').append(sha256Hex(token)).append('\n'));
    return txt.toString();
  }

  static String sha256Hex(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  private int mint(String[] args, PrintStream out) throws Usage, IOException {
    Settings s = new Settings(args, Map.of());
    String issuerFile = s.string("issuer-key", null, "the issuer key");
    String subject = s.string("subject", null, "sub");
    String tenant = s.string("tenant", null, "tenant");
    List<String> roles = list(s.string("roles", "", "roles"));
    List<String> audiences = list(s.string("audience", "", "audiences"));
    String ttlText = s.string("ttl", "30d", "validity");
    if (issuerFile == null) {
      s.problem("--issuer-key=FILE is required: the issuer.jwk make-secrets wrote");
    }
    if (subject == null) {
      s.problem("--subject=NAME is required");
    }
    if (audiences.isEmpty()) {
      s.problem("--audience is required: one or more of " + String.join(", ", Tokens.Policy.ALL));
    }
    for (String audience : audiences) {
      if (!Tokens.Policy.ALL.contains(audience)) {
        s.problem("--audience " + audience + " is not a Fortress service's: use "
            + String.join(", ", Tokens.Policy.ALL));
      }
    }
    Duration ttl = ttl(s, ttlText);
    finish(s);
    ECKey key = issuerKey(Path.of(issuerFile));
    out.println(Tokens.sign(key, subject, tenant, roles, audiences, ttl));
    return 0;
  }

  private static Duration ttl(Settings s, String text) {
    Matcher m = Pattern.compile("([1-9][0-9]{0,5})([smhd])").matcher(text);
    if (!m.matches()) {
      s.problem("--ttl=" + text + " is not a duration: use a number and s, m, h or d, e.g. 90m, 12h, 30d");
      return MINT_TTL_DEFAULT;
    }
    long n = Long.parseLong(m.group(1));
    Duration ttl = switch (m.group(2)) {
      case "s" -> Duration.ofSeconds(n);
      case "m" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(n);
      default -> Duration.ofDays(n);
    };
    if (ttl.compareTo(MINT_TTL_MAX) > 0) {
      s.problem("--ttl=" + text + " is longer than " + MINT_TTL_MAX.toDays() + "d: mint a new token instead");
    }
    return ttl;
  }

  /** The private EC key in {@code file}; refuses anything else. */
  private static ECKey issuerKey(Path file) throws Usage, IOException {
    if (!Files.isReadable(file)) {
      throw new Usage("--issuer-key=" + file + " cannot be read");
    }
    JWK key;
    try {
      key = JWK.parse(Files.readString(file, StandardCharsets.UTF_8));
    } catch (ParseException e) {
      throw new Usage("--issuer-key=" + file + " is not a JWK (make-secrets writes issuer.jwk)");
    }
    if (!(key instanceof ECKey ec) || !ec.isPrivate()) {
      throw new Usage("--issuer-key=" + file + " is not a private EC key: give the issuer.jwk make-secrets wrote, "
          + "not the public JWK set");
    }
    Set<PosixFilePermission> modes = Files.getFileAttributeView(file, PosixFileAttributeView.class) == null
        ? Set.of() : Files.getPosixFilePermissions(file);
    if (modes.stream().anyMatch(p -> !p.name().startsWith("OWNER_"))) {
      throw new Usage("--issuer-key=" + file + " can be read by others than its owner: chmod 600 it");
    }
    return ec;
  }

  private static List<String> list(String text) {
    List<String> items = new ArrayList<>();
    for (String item : text.split(",")) {
      if (!item.isBlank()) {
        items.add(item.trim());
      }
    }
    return items;
  }

  /** Settings' problems, on one line. */
  private static void finish(Settings s) throws Usage {
    try {
      s.finish();
    } catch (IllegalArgumentException e) {
      throw new Usage(e.getMessage().replaceFirst("^invalid configuration:\\n\\s*- ", "")
          .replaceAll("\\n\\s*- ", "; "));
    }
  }

  private byte[] randomBytes() {
    byte[] bytes = new byte[KEY_BYTES];
    random.nextBytes(bytes);
    return bytes;
  }

  private String randomKey() {
    return Base64.getEncoder().encodeToString(randomBytes());
  }

  /** Letters and digits only, so it needs no quoting in an env file, a URL or a shell. */
  private String password() {
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    StringBuilder p = new StringBuilder();
    for (int i = 0; i < PASSWORD_CHARS; i++) {
      p.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return p.toString();
  }
}
