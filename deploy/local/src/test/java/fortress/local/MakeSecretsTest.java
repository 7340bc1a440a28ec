package fortress.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import fortress.core.Settings;
import fortress.core.rpc.Rejection;
import fortress.core.security.Caller;
import fortress.core.security.Tokens;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code deploy/k8s/make-secrets} and {@code deploy/k8s/mint-token} as an operator meets them: the
 * files they write, what a server does with them, and the one-line refusals.
 */
class MakeSecretsTest {
  private static final List<String> MADE = List.of("secrets.env", "member-tokens.env", "member-tokens.txt",
      "ledger-db.env", "shadow-db.env", "decoy-db.env", "issuer.jwk");

  @TempDir
  Path dir;

  private record Exit(int status, String out, String err) {}

  private static Exit run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status = MakeSecrets.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Exit(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private Exit make(String... flags) {
    String[] args = Stream.concat(Stream.of("--out=" + dir), Stream.of(flags)).toArray(String[]::new);
    return run(args);
  }

  private static Map<String, String> env(Path file) throws IOException {
    Map<String, String> values = new LinkedHashMap<>();
    for (String line : Files.readAllLines(file)) {
      int eq = line.indexOf('=');
      values.put(line.substring(0, eq), line.substring(eq + 1));
    }
    return values;
  }

  /** The auth-jwks of secrets.env in a file, read as a server reads --auth-jwks-file with this policy. */
  private Tokens server(Tokens.Policy policy) throws IOException {
    Path jwks = dir.resolve("jwks.json");
    if (!Files.exists(jwks)) {
      Files.writeString(jwks, env(dir.resolve("secrets.env")).get("auth-jwks"));
    }
    return Settings.parse(new String[] {"--auth-jwks-file=" + jwks}, Map.of(), s -> Tokens.read(s, policy));
  }

  @Test
  void make_writesEverySecretFile_ownerOnly() throws IOException {
    Exit exit = make();

    assertThat(exit.status()).isZero();
    for (String name : MADE) {
      assertThat(Files.getPosixFilePermissions(dir.resolve(name))).as(name)
          .isEqualTo(PosixFilePermissions.fromString("rw-------"));
    }
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrderElementsOf(MADE);
    }
    assertThat(env(dir.resolve("secrets.env"))).containsOnlyKeys("journal-key", "card-key", "card-key-id", "auth-jwks",
        "decoy-shadow-token");
    assertThat(Base64.getDecoder().decode(env(dir.resolve("secrets.env")).get("journal-key"))).hasSize(32);
    assertThat(env(dir.resolve("ledger-db.env")).get("password")).matches("[A-Za-z0-9]{32}");
    assertThat(exit.out()).contains("Keep it off the cluster");
  }

  @Test
  void make_secretsEnv_holdsThePublicKeyOnly_andThePrivateKeyIsOnlyInTheIssuerFile() throws Exception {
    make();

    JWKSet published = JWKSet.parse(env(dir.resolve("secrets.env")).get("auth-jwks"));
    assertThat(published.getKeys()).hasSize(1).allSatisfy(key -> assertThat(key.isPrivate()).isFalse());
    ECKey issuer = (ECKey) JWK.parse(Files.readString(dir.resolve("issuer.jwk")));
    assertThat(issuer.isPrivate()).isTrue();
    assertThat(published.getKeys().get(0).computeThumbprint()).isEqualTo(issuer.computeThumbprint());
    String privatePart = issuer.getD().toString();
    for (String name : MADE) {
      if (!name.equals("issuer.jwk")) {
        assertThat(Files.readString(dir.resolve(name))).as(name).doesNotContain(privatePart);
      }
    }
  }

  @Test
  void make_decoyToken_isAcceptedByTheShadowServer_andRefusedByTheLedger() throws Exception {
    make();
    String token = env(dir.resolve("secrets.env")).get("decoy-shadow-token");

    Caller decoy = server(Tokens.Policy.SHADOW).verify(token);

    assertThat(decoy.subject()).isEqualTo("decoy");
    assertThat(decoy.roles()).containsExactly("decoy");
    assertThatThrownBy(() -> server(Tokens.Policy.LEDGER).verify(token)).isInstanceOf(Rejection.class);
    assertThatThrownBy(() -> server(Tokens.Policy.DECOY).verify(token)).isInstanceOf(Rejection.class);
  }

  @Test
  void make_memberTokenHashes_matchEachMembersToken() throws IOException {
    make("--ledger-nodes=5");

    Map<String, String> tokens = env(dir.resolve("member-tokens.env"));
    assertThat(tokens).containsOnlyKeys("ledger-0", "ledger-1", "ledger-2", "ledger-3", "ledger-4", "proxy");
    Map<String, String> hashes = new LinkedHashMap<>();
    for (String line : Files.readAllLines(dir.resolve("member-tokens.txt"))) {
      if (!line.startsWith("#")) {
        String[] parts = line.split(" ");
        hashes.put(parts[0], parts[1]);
      }
    }
    assertThat(hashes.keySet()).containsExactlyElementsOf(tokens.keySet());
    tokens.forEach((member, token) -> {
      byte[] raw = Base64.getDecoder().decode(token);
      assertThat(raw).hasSize(32);
      assertThat(hashes.get(member)).as(member).isEqualTo(MakeSecrets.sha256Hex(raw)).matches("[0-9a-f]{64}");
    });
    assertThat(Set.copyOf(tokens.values())).as("every member has its own token").hasSize(tokens.size());
  }

  @Test
  void make_defaultLedgerNodes_matchTheStatefulSet() throws IOException {
    make();

    assertThat(env(dir.resolve("member-tokens.env"))).containsOnlyKeys("ledger-0", "ledger-1", "ledger-2", "proxy");
  }

  @Test
  void make_existingFile_isNotOverwritten_andNothingIsWritten() throws IOException {
    Files.writeString(dir.resolve("secrets.env"), "journal-key=the old one\n");

    Exit exit = make();

    assertThat(exit.status()).isEqualTo(1);
    assertThat(exit.err().lines()).singleElement().asString().contains("secrets.env").contains("already exist");
    assertThat(Files.readString(dir.resolve("secrets.env"))).isEqualTo("journal-key=the old one\n");
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files).containsExactly(dir.resolve("secrets.env"));
    }
  }

  @Test
  void make_issuerKeyElsewhere_isWrittenThere() throws IOException {
    Path keyFile = dir.resolve("operator").resolve("issuer.jwk");

    make("--issuer-key=" + keyFile);

    assertThat(Files.getPosixFilePermissions(keyFile)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    assertThat(dir.resolve("issuer.jwk")).doesNotExist();
  }

  @Test
  void make_redisUrlFromAFile_landsInSecretsEnv() throws IOException {
    Path url = dir.resolve("redis-url.txt");
    Files.writeString(url, "redis://:s3cret@redis.cache:6379\n");

    Exit exit = make("--redis-url-file=" + url);

    assertThat(exit.status()).isZero();
    assertThat(env(dir.resolve("secrets.env"))).containsEntry("redis-url", "redis://:s3cret@redis.cache:6379");
  }

  @Test
  void make_secretOnTheCommandLine_isRefusedInOneLine_withoutRepeatingIt() {
    for (String flag : List.of("--redis-url=redis://:s3cret@redis.cache:6379", "--journal-key=c2VjcmV0",
        "--auth-hs256-key=c2VjcmV0", "--node-token=c2VjcmV0")) {
      Exit exit = make(flag);

      assertThat(exit.status()).as(flag).isEqualTo(2);
      assertThat(exit.err().lines()).as(flag).singleElement().asString().startsWith("make-secrets: ")
          .doesNotContain("s3cret").doesNotContain("c2VjcmV0").doesNotContain("Exception");
      assertThat(dir.resolve("secrets.env")).doesNotExist();
    }
  }

  @Test
  void mint_tenantToken_isAcceptedForItsAudienceOnly() throws Exception {
    make();

    Exit exit = run("mint", "--issuer-key=" + dir.resolve("issuer.jwk"), "--subject=alice", "--tenant=acme",
        "--roles=writer,reader", "--audience=fortress-ledger", "--ttl=12h");

    assertThat(exit.status()).isZero();
    assertThat(exit.err()).isEmpty();
    assertThat(exit.out().lines()).as("only the token").singleElement();
    String token = exit.out().trim();
    Caller alice = server(Tokens.Policy.LEDGER).verify(token);
    assertThat(alice.subject()).isEqualTo("alice");
    assertThat(alice.tenant()).isEqualTo("acme");
    assertThat(alice.roles()).containsExactlyInAnyOrder("writer", "reader");
    assertThatThrownBy(() -> server(Tokens.Policy.SHADOW).verify(token)).isInstanceOf(Rejection.class);
    assertThatThrownBy(() -> server(Tokens.Policy.DECOY).verify(token)).isInstanceOf(Rejection.class);
  }

  @Test
  void mint_operatorToken_forEveryService_isAcceptedByEach() throws Exception {
    make();

    String token = run("mint", "--issuer-key=" + dir.resolve("issuer.jwk"), "--subject=ops", "--roles=admin",
        "--audience=" + String.join(",", Tokens.Policy.ALL)).out().trim();

    for (Tokens.Policy policy : List.of(Tokens.Policy.LEDGER, Tokens.Policy.SHADOW, Tokens.Policy.DECOY)) {
      assertThat(server(policy).verify(token).roles()).as(policy.audience()).containsExactly("admin");
    }
  }

  @Test
  void mint_badFlags_areRefusedInOneLine_withExit2() throws IOException {
    make();
    String key = "--issuer-key=" + dir.resolve("issuer.jwk");
    Map<List<String>, String> cases = Map.of(
        List.of(key, "--subject=a", "--audience=fortress-legder"), "fortress-legder is not a Fortress service's",
        List.of(key, "--subject=a", "--audience=fortress-ledger", "--ttl=400d"), "longer than 366d",
        List.of(key, "--subject=a", "--audience=fortress-ledger", "--ttl=soon"), "--ttl=soon is not a duration",
        List.of(key, "--audience=fortress-ledger"), "--subject=NAME is required",
        List.of("--subject=a", "--audience=fortress-ledger"), "--issuer-key=FILE is required",
        List.of("--issuer-key=" + dir.resolve("missing.jwk"), "--subject=a", "--audience=fortress-ledger"),
        "cannot be read",
        List.of(key, "--subject=a", "--audience=fortress-ledger", "--secret=x"), "unknown flag --secret");

    cases.forEach((flags, message) -> {
      Exit exit = run(Stream.concat(Stream.of("mint"), flags.stream()).toArray(String[]::new));

      assertThat(exit.status()).as(flags.toString()).isEqualTo(2);
      assertThat(exit.out()).as("no token").isEmpty();
      assertThat(exit.err().lines()).as(flags.toString()).singleElement().asString().startsWith("mint-token: ")
          .contains(message).doesNotContain("Exception");
    });
  }

  @Test
  void mint_withThePublicKey_orAKeyOthersCanRead_isRefused() throws Exception {
    make();
    Path publicKeys = dir.resolve("public.jwk");
    Files.writeString(publicKeys, JWK.parse(Files.readString(dir.resolve("issuer.jwk"))).toPublicJWK().toJSONString());
    Files.setPosixFilePermissions(publicKeys, PosixFilePermissions.fromString("rw-------"));
    Files.setPosixFilePermissions(dir.resolve("issuer.jwk"), PosixFilePermissions.fromString("rw-r--r--"));

    Exit publicOnly = run("mint", "--issuer-key=" + publicKeys, "--subject=a", "--audience=fortress-ledger");
    Exit readable = run("mint", "--issuer-key=" + dir.resolve("issuer.jwk"), "--subject=a",
        "--audience=fortress-ledger");

    assertThat(publicOnly.status()).isEqualTo(2);
    assertThat(publicOnly.err()).contains("is not a private EC key");
    assertThat(readable.status()).isEqualTo(2);
    assertThat(readable.err()).contains("can be read by others than its owner");
    assertThat(publicOnly.out() + readable.out()).isEmpty();
  }

  @Test
  void help_listsOnlyFlagsThatTakeNoSecret() {
    Exit exit = run("--help");

    assertThat(exit.status()).isZero();
    Set<String> flags = new TreeSet<>();
    Matcher m = Pattern.compile("--([a-z-]+)=").matcher(exit.out());
    while (m.find()) {
      flags.add(m.group(1));
    }
    assertThat(flags).containsExactlyInAnyOrder("out", "issuer-key", "ledger-nodes", "redis-url", "redis-url-file",
        "subject", "tenant", "roles", "audience", "ttl");
  }
}
