package fortress.shadow.rule;

import com.google.common.cache.Cache;
import com.google.common.cache.CacheBuilder;
import com.google.re2j.Pattern;
import dev.cel.common.CelOptions;
import dev.cel.runtime.CelFunctionBinding;
import java.util.List;

/**
 * CEL's {@code matches()} with each regular expression compiled once. The standard binding compiles
 * the pattern on every call, which costs ten times the rest of a typical rule; these bindings
 * replace it under the same overload ids, with the same RE2 semantics and program-size limit, and
 * keep up to {@link #CACHED_MAX} compiled patterns (patterns built at run time from request data
 * cannot grow the cache without bound). RE2 runs in time linear in its input, but a rule may run
 * many of them: the input is bounded too, by {@link #INPUT_LENGTH_MAX}. A longer string (only a
 * string the expression built, such as a concatenation, can be longer than any attribute) fails
 * that evaluation instead of being scanned.
 */
final class Patterns {
  static final int CACHED_MAX = 1_000;
  /** Twice the longest attribute, so every attribute and any two of them together fit. */
  static final int INPUT_LENGTH_MAX = 4_096;

  private final Cache<String, Pattern> compiled = CacheBuilder.newBuilder().maximumSize(CACHED_MAX).build();
  private final int programSizeMax;
  private final boolean partial;

  Patterns(CelOptions options) {
    this.programSizeMax = options.maxRegexProgramSize();
    this.partial = options.enableRegexPartialMatch();
  }

  /** The bindings for {@code matches(s, re)} and {@code s.matches(re)}. */
  List<CelFunctionBinding> bindings() {
    return List.of(
        CelFunctionBinding.from("matches", String.class, String.class, this::matches),
        CelFunctionBinding.from("matches_string", String.class, String.class, this::matches));
  }

  boolean matches(String text, String regex) {
    if (text.length() > INPUT_LENGTH_MAX) {
      throw new IllegalArgumentException("matches() was given a string of " + text.length()
          + " characters; the limit is " + INPUT_LENGTH_MAX);
    }
    Pattern pattern = compiled.getIfPresent(regex);
    if (pattern == null) {
      pattern = Pattern.compile(regex);
      if (programSizeMax >= 0 && pattern.programSize() > programSizeMax) {
        throw new IllegalArgumentException("regular expression program size " + pattern.programSize()
            + " exceeds the limit " + programSizeMax);
      }
      compiled.put(regex, pattern);
    }
    return partial ? pattern.matcher(text).find() : pattern.matcher(text).matches();
  }
}
