package fortress.core;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads named settings from {@code --name=value} flags, falling back to the environment
 * variable {@code FORTRESS_NAME} (upper snake case). Every problem is collected, so start-up
 * reports all of them at once with what to fix.
 */
public final class Settings {
  private final Map<String, String> flags = new LinkedHashMap<>();
  private final Map<String, String> env;
  private final List<String> problems = new ArrayList<>();
  private final Map<String, String> help = new LinkedHashMap<>();

  public Settings(String[] args, Map<String, String> env) {
    this.env = env;
    for (String arg : args) {
      if (!arg.startsWith("--") || !arg.contains("=")) {
        problems.add("unrecognised argument '" + arg + "': use --name=value");
        continue;
      }
      int eq = arg.indexOf('=');
      flags.put(arg.substring(2, eq), arg.substring(eq + 1));
    }
  }

  /**
   * Reads a whole configuration with {@code read} and checks nothing was left over or wrong;
   * throws IllegalArgumentException listing every problem.
   */
  public static <T> T parse(String[] args, Map<String, String> env, java.util.function.Function<Settings, T> read) {
    Settings s = new Settings(args, env);
    T config = read.apply(s);
    s.finish();
    return config;
  }

  /** The --help text of a configuration read by {@code read}, under a one-line title. */
  public static String usage(String title, java.util.function.Function<Settings, ?> read) {
    Settings s = new Settings(new String[0], Map.of());
    read.apply(s);
    return title + " Flags (or the environment variables beside them):\n" + s.usage();
  }

  /**
   * A server main's reading of its flags: on {@code --help} prints the usage and returns null (the
   * caller returns); on bad settings prints every problem and exits with status 2.
   */
  public static <T> T forMain(String[] args, java.util.function.Supplier<String> usage,
      java.util.function.BiFunction<String[], Map<String, String>, T> parse) {
    if (java.util.Arrays.asList(args).contains("--help")) {
      System.out.print(usage.get());
      return null;
    }
    try {
      return parse.apply(args, System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println("Run with --help to list the flags.");
      System.exit(2);
      return null;
    }
  }

  /** The environment variable that backs a flag: {@code grpc-port} becomes {@code FORTRESS_GRPC_PORT}. */
  public static String envName(String flag) {
    return "FORTRESS_" + flag.toUpperCase().replace('-', '_');
  }

  private String raw(String name, String description, String defaultShown) {
    help.put(name, description + (defaultShown == null ? "" : " (default: " + defaultShown + ")"));
    String value = flags.remove(name);
    return value != null ? value : env.get(envName(name));
  }

  public String string(String name, String defaultValue, String description) {
    String value = raw(name, description, defaultValue == null ? null : "'" + defaultValue + "'");
    return value == null || value.isBlank() ? defaultValue : value.trim();
  }

  public long number(String name, long defaultValue, long min, long max, String description) {
    String value = raw(name, description + "; " + min + ".." + max, Long.toString(defaultValue));
    if (value == null || value.isBlank()) {
      return defaultValue;
    }
    try {
      long parsed = Long.parseLong(value.trim());
      if (parsed < min || parsed > max) {
        problems.add("--" + name + "=" + value + " is out of range: use a value from " + min + " to " + max);
        return defaultValue;
      }
      return parsed;
    } catch (NumberFormatException e) {
      problems.add("--" + name + "=" + value + " is not a whole number");
      return defaultValue;
    }
  }

  public int integer(String name, int defaultValue, int min, int max, String description) {
    return (int) number(name, defaultValue, min, max, description);
  }

  /** true or false. */
  public boolean bool(String name, boolean defaultValue, String description) {
    String value = raw(name, description + "; true or false", Boolean.toString(defaultValue));
    if (value == null || value.isBlank()) {
      return defaultValue;
    }
    return switch (value.trim()) {
      case "true" -> true;
      case "false" -> false;
      default -> {
        problems.add("--" + name + "=" + value + " is not true or false");
        yield defaultValue;
      }
    };
  }

  /**
   * A secret: base64 in {@code FORTRESS_NAME} or the flag, or the path of a file holding it in
   * {@code --name-file} / {@code FORTRESS_NAME_FILE}. Returns null when neither is set. The value
   * itself is never echoed in a problem message.
   */
  public byte[] secret(String name, int lengthBytes, String description) {
    String inline = raw(name, description + "; base64 of " + lengthBytes + " bytes", null);
    String file = raw(name + "-file", "a file holding --" + name, null);
    String encoded = inline;
    if (encoded == null && file != null) {
      try {
        encoded = Files.readString(Path.of(file), StandardCharsets.US_ASCII).trim();
      } catch (Exception e) {
        problems.add("--" + name + "-file=" + file + " cannot be read: " + e.getMessage());
        return null;
      }
    }
    if (encoded == null || encoded.isBlank()) {
      return null;
    }
    try {
      byte[] key = Base64.getDecoder().decode(encoded.trim());
      if (key.length != lengthBytes) {
        problems.add("--" + name + " must decode to " + lengthBytes + " bytes, not " + key.length);
        return null;
      }
      return key;
    } catch (IllegalArgumentException e) {
      problems.add("--" + name + " is not valid base64");
      return null;
    }
  }

  /**
   * A secret string (a token, say): in {@code FORTRESS_NAME} or the flag, or in the file named by
   * {@code --name-file} / {@code FORTRESS_NAME_FILE}. Returns null when neither is set; never echoed.
   */
  public String secretText(String name, String description) {
    String inline = raw(name, description, null);
    String file = raw(name + "-file", "a file holding --" + name, null);
    if (inline != null && !inline.isBlank()) {
      return inline.trim();
    }
    if (file == null) {
      return null;
    }
    try {
      String text = Files.readString(Path.of(file), StandardCharsets.UTF_8).trim();
      return text.isEmpty() ? null : text;
    } catch (Exception e) {
      problems.add("--" + name + "-file=" + file + " cannot be read: " + e.getMessage());
      return null;
    }
  }

  public void problem(String message) {
    problems.add(message);
  }

  /** Throws, listing every problem, if any flag was bad or unknown. */
  public void finish() {
    for (String unknown : flags.keySet()) {
      problems.add("unknown flag --" + unknown + " (see --help)");
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException("invalid configuration:\n  - " + String.join("\n  - ", problems));
    }
  }

  /** One line per setting read so far: flag, environment variable, meaning and default. */
  public String usage() {
    StringBuilder out = new StringBuilder();
    help.forEach((name, text) -> out.append(String.format("  --%-28s %-34s %s%n", name + "=...", envName(name), text)));
    return out.toString();
  }
}
