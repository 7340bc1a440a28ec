package fortress.bench;

import fortress.core.Settings;
import java.util.Arrays;

/** How every benchmark tool ends reading its flags: {@code --help} lists them, a bad one exits 2. */
final class Flags {
  private Flags() {}

  static void finish(Settings s, String[] args) {
    if (Arrays.asList(args).contains("--help")) {
      System.out.print(s.usage());
      System.exit(0);
    }
    try {
      s.finish();
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println("Run with --help to list the flags.");
      System.exit(2);
    }
  }
}
