package fortress.decoy.template;

import fortress.core.rpc.Rejection;
import fortress.decoy.generate.Logs;
import fortress.decoy.generate.MarkovText;
import fortress.decoy.generate.Profiles;
import fortress.decoy.generate.Seeds;
import fortress.decoy.generate.Transactions;
import fortress.decoy.v1.ErrorReason;
import fortress.decoy.v1.RecordKind;
import fortress.decoy.v1.Template;
import fortress.decoy.v1.Transaction;
import fortress.decoy.v1.UserProfile;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A template ready to serve: its path split into literal and {@code {name}} segments, and its body
 * split into text and placeholders. Compiling validates every field, so a template that compiles
 * always renders. Rendering is a pure function of (template seed, client key, path), which is what
 * makes a returning client see the same data.
 */
public final class Endpoint {
  public static final int PATH_PATTERN_LENGTH_MAX = 512;
  public static final int BODY_LENGTH_MAX = 64 * 1024;
  public static final int HEADERS_MAX = 32;
  public static final int HEADER_VALUE_LENGTH_MAX = 1024;
  public static final int TRANSACTIONS_MAX = 100;
  private static final Set<String> METHODS = Set.of("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS");
  private static final Set<String> RESERVED_HEADERS = Set.of("content-length", "connection", "transfer-encoding",
      "keep-alive", "upgrade");
  private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}");
  private static final Pattern VARIABLE = Pattern.compile("\\{([a-z_][a-z0-9_]{0,31})}");
  private static final Pattern LITERAL = Pattern.compile("[A-Za-z0-9._~!$&'()*+,;=:@%-]*");
  private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{\\s*([^{}]*?)\\s*}}");
  private static final Set<String> PROFILE_FIELDS = Set.of("given_name", "family_name", "name", "email", "age",
      "city", "region", "timezone", "country");
  private static final Set<String> TRANSACTION_FIELDS = Set.of("id", "amount", "amount_cents", "currency", "category",
      "time", "card_last4");
  private static final MarkovText TEXT = MarkovText.builtIn();

  private final Template template;
  /** Literal segments as themselves, variables as null (their names are in {@link #variables}). */
  private final List<String> segments;
  private final List<String> variables;
  private final List<String> bodyText;
  private final List<String[]> placeholders;
  private final int literalCount;

  private Endpoint(Template template, List<String> segments, List<String> variables, List<String> bodyText,
      List<String[]> placeholders) {
    this.template = template;
    this.segments = segments;
    this.variables = variables;
    this.bodyText = bodyText;
    this.placeholders = placeholders;
    this.literalCount = (int) segments.stream().filter(s -> s != null).count();
  }

  public Template template() {
    return template;
  }

  /** Literal segments; more of them make a more specific match. */
  int literalCount() {
    return literalCount;
  }

  /** Validates the template, naming the first bad field under {@code field}. */
  public static Endpoint compile(String field, Template t) {
    if (!METHODS.contains(t.getMethod())) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, field + ".method", "must be one of " + String.join(", ", METHODS.stream().sorted()
          .toList()));
    }
    String path = t.getPathPattern();
    if (!path.startsWith("/") || path.length() > PATH_PATTERN_LENGTH_MAX) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, field + ".path_pattern", "must start with / and be at most " + PATH_PATTERN_LENGTH_MAX
          + " characters");
    }
    List<String> segments = new ArrayList<>();
    List<String> variables = new ArrayList<>();
    for (String segment : split(path)) {
      Matcher v = VARIABLE.matcher(segment);
      if (v.matches()) {
        if (variables.contains(v.group(1))) {
          throw Rejection.invalid(ErrorReason.INVALID_FIELD, field + ".path_pattern", "names {" + v.group(1) + "} twice");
        }
        segments.add(null);
        variables.add(v.group(1));
      } else if (LITERAL.matcher(segment).matches()) {
        segments.add(segment);
        variables.add(null);
      } else {
        throw Rejection.invalid(ErrorReason.INVALID_FIELD, field + ".path_pattern", "segment '" + segment + "' must be literal URL characters "
            + "or {name} with name of [a-z0-9_]");
      }
    }
    if (t.getStatus() < 200 || t.getStatus() > 599) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, field + ".status", "must be 200-599");
    }
    if (t.getHeadersCount() > HEADERS_MAX) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, field + ".headers", "at most " + HEADERS_MAX + " headers");
    }
    for (Map.Entry<String, String> h : t.getHeadersMap().entrySet()) {
      if (!TOKEN.matcher(h.getKey()).matches() || RESERVED_HEADERS.contains(h.getKey().toLowerCase(Locale.ROOT))) {
        throw Rejection.invalid(ErrorReason.INVALID_FIELD, field + ".headers", "'" + h.getKey() + "' is not a header name a template may set");
      }
      if (h.getValue().length() > HEADER_VALUE_LENGTH_MAX || h.getValue().chars().anyMatch(c -> c < 0x20 || c > 0x7e)) {
        throw Rejection.invalid(ErrorReason.INVALID_FIELD, field + ".headers", "the value of '" + h.getKey() + "' must be at most "
            + HEADER_VALUE_LENGTH_MAX + " printable ASCII characters");
      }
    }
    if (t.getBody().length() > BODY_LENGTH_MAX) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, field + ".body", "must be at most " + BODY_LENGTH_MAX + " characters");
    }
    List<String> text = new ArrayList<>();
    List<String[]> placeholders = new ArrayList<>();
    Matcher m = PLACEHOLDER.matcher(t.getBody());
    int from = 0;
    while (m.find()) {
      text.add(t.getBody().substring(from, m.start()));
      placeholders.add(placeholder(field + ".body", m.group(1), variables));
      from = m.end();
    }
    text.add(t.getBody().substring(from));
    switch (t.getFamily()) {
      case TEMPLATE_FAMILY_JSON_API, TEMPLATE_FAMILY_NGINX_HTML, TEMPLATE_FAMILY_IIS -> { }
      default -> throw Rejection.invalid(ErrorReason.INVALID_FIELD, field + ".family", "must be set");
    }
    String key = t.getClientKey();
    if (!key.isEmpty() && !(key.startsWith("header:") && TOKEN.matcher(key.substring(7)).matches())) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, field + ".client_key", "must be empty or header:NAME");
    }
    return new Endpoint(t, segments, variables, text, placeholders);
  }

  private static String[] placeholder(String field, String name, List<String> variables) {
    String[] parts = name.split("\\.", -1);
    boolean valid = switch (parts[0]) {
      case "profile" -> parts.length == 2 && PROFILE_FIELDS.contains(parts[1]);
      case "transaction" -> (parts.length == 2 && TRANSACTION_FIELDS.contains(parts[1]))
          || (parts.length == 3 && parts[1].matches("[0-9]{1,2}") && TRANSACTION_FIELDS.contains(parts[2]));
      case "log" -> parts.length == 2 && parts[1].equals("line");
      case "path" -> parts.length == 2 && variables.contains(parts[1]);
      case "client" -> parts.length == 2 && parts[1].equals("ip");
      case "text", "uuid" -> parts.length == 1;
      default -> false;
    };
    if (!valid) {
      throw Rejection.invalid(ErrorReason.INVALID_FIELD, field, "unknown placeholder {{" + name + "}}");
    }
    return parts;
  }

  static List<String> split(String path) {
    List<String> out = new ArrayList<>();
    for (String s : path.substring(1).split("/", -1)) {
      out.add(s);
    }
    return out;
  }

  int segmentCount() {
    return segments.size();
  }

  /** How many leading segments of {@code path} this template's pattern matches. */
  int sharedSegments(List<String> path) {
    int i = 0;
    while (i < Math.min(path.size(), segments.size())
        && (segments.get(i) == null ? !path.get(i).isEmpty() : segments.get(i).equals(path.get(i)))) {
      i++;
    }
    return i;
  }

  /** The path variables if the path matches, else null. */
  Map<String, String> match(List<String> path) {
    if (path.size() != segments.size()) {
      return null;
    }
    Map<String, String> values = new HashMap<>();
    for (int i = 0; i < segments.size(); i++) {
      if (segments.get(i) == null) {
        if (path.get(i).isEmpty()) {
          return null;
        }
        values.put(variables.get(i), path.get(i));
      } else if (!segments.get(i).equals(path.get(i))) {
        return null;
      }
    }
    return values;
  }

  /** The body for one client, with values escaped for the template's family. */
  public String render(String clientKey, String clientIp, Map<String, String> pathValues) {
    long entity = Seeds.entity(clientKey);
    long seed = template.getSeed();
    UserProfile profile = null;
    Map<Integer, Transaction> transactions = new HashMap<>();
    StringBuilder out = new StringBuilder(template.getBody().length() + 256);
    for (int i = 0; i < placeholders.size(); i++) {
      out.append(bodyText.get(i));
      String[] p = placeholders.get(i);
      String value;
      switch (p[0]) {
        case "profile" -> {
          if (profile == null) {
            profile = Profiles.generate(random(seed, entity, 0, RecordKind.RECORD_KIND_USER_PROFILE));
          }
          value = profileField(profile, p[1]);
        }
        case "transaction" -> {
          int n = p.length == 3 ? Integer.parseInt(p[1]) : 0;
          Transaction t = transactions.computeIfAbsent(n, k -> Transactions.generate(
              random(seed, entity, k, RecordKind.RECORD_KIND_TRANSACTION)));
          value = transactionField(t, p[p.length - 1]);
        }
        case "log" -> value = Logs.generate(random(seed, entity, 0, RecordKind.RECORD_KIND_LOG_LINE)).getLine();
        case "text" -> value = TEXT.passage(random(seed, entity, 0, RecordKind.RECORD_KIND_TEXT));
        case "uuid" -> {
          SplittableRandom r = random(seed, entity, 0, RecordKind.RECORD_KIND_UNSPECIFIED);
          value = new UUID(r.nextLong() & ~0xF000L | 0x4000L, r.nextLong() & 0x3FFFFFFFFFFFFFFFL | Long.MIN_VALUE)
              .toString();
        }
        case "client" -> value = clientIp;
        default -> value = pathValues.getOrDefault(p[1], "");
      }
      out.append(Pages.escape(template.getFamily(), value));
    }
    out.append(bodyText.get(bodyText.size() - 1));
    return out.toString();
  }

  private static SplittableRandom random(long seed, long entity, long sequence, RecordKind kind) {
    return Seeds.random(seed, entity, sequence, kind.getNumber());
  }

  private static String profileField(UserProfile p, String field) {
    return switch (field) {
      case "given_name" -> p.getGivenName();
      case "family_name" -> p.getFamilyName();
      case "name" -> p.getGivenName() + " " + p.getFamilyName();
      case "email" -> p.getEmail();
      case "age" -> Integer.toString(p.getAge());
      case "city" -> p.getCity();
      case "region" -> p.getRegion();
      case "timezone" -> p.getTimezone();
      default -> p.getCountry();
    };
  }

  private static String transactionField(Transaction t, String field) {
    return switch (field) {
      case "id" -> t.getTransactionId();
      case "amount" -> String.format(Locale.ROOT, "%d.%02d", t.getAmountCents() / 100, t.getAmountCents() % 100);
      case "amount_cents" -> Long.toString(t.getAmountCents());
      case "currency" -> t.getCurrency();
      case "category" -> t.getMerchantCategory();
      case "time" -> Instant.ofEpochSecond(t.getTime().getSeconds(), t.getTime().getNanos()).toString();
      default -> t.getCardLast4();
    };
  }
}
