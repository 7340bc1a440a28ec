package fortress.decoy.generate;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * An order-2 Markov chain over words: the next word depends on the two before it. Trained once,
 * then read-only, so any number of threads can draw from it. A passage starts where a sentence
 * in the corpus started and runs for one to three sentences (at most {@link #WORDS_MAX} words).
 */
public final class MarkovText {
  public static final int WORDS_MIN = 20;
  static final int WORDS_MAX = 120;
  private static final int START = -1;

  public static final String BUILT_IN = "default";

  private final String name;
  private final List<String> words = new ArrayList<>();
  /** (word before last, last word) to the words seen after them, repeats kept as weights. */
  private final Map<Long, int[]> next = new HashMap<>();
  private final long[] starts;
  private final int wordCount;

  private MarkovText(String name, String corpus) {
    this.name = name;
    Map<String, Integer> ids = new HashMap<>();
    Map<Long, List<Integer>> followers = new HashMap<>();
    List<Long> sentenceStarts = new ArrayList<>();
    int a = START;
    int b = START;
    int count = 0;
    for (String token : corpus.split("\\s+")) {
      if (token.isEmpty()) {
        continue;
      }
      count++;
      int id = ids.computeIfAbsent(token, t -> {
        words.add(t);
        return words.size() - 1;
      });
      if (a == START && b == START) {
        sentenceStarts.add(key(START, id));
      }
      followers.computeIfAbsent(key(a, b), k -> new ArrayList<>()).add(id);
      a = b;
      b = id;
      if (endsSentence(token)) {
        followers.computeIfAbsent(key(a, b), k -> new ArrayList<>()).add(START);
        a = START;
        b = START;
      }
    }
    followers.forEach((k, v) -> next.put(k, v.stream().mapToInt(Integer::intValue).toArray()));
    starts = sentenceStarts.stream().mapToLong(Long::longValue).toArray();
    wordCount = count;
  }

  /** Trains a model; a corpus needs at least {@link #WORDS_MIN} words and one whole sentence. */
  public static MarkovText train(String name, String corpus) {
    MarkovText model = new MarkovText(name, corpus);
    if (model.wordCount < WORDS_MIN || model.starts.length == 0) {
      throw new IllegalArgumentException("needs at least " + WORDS_MIN + " words");
    }
    return model;
  }

  /** The model trained on the built-in corpus. */
  public static MarkovText builtIn() {
    try (InputStream in = MarkovText.class.getResourceAsStream("/fortress/decoy/default-corpus.txt")) {
      return train(BUILT_IN, new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String name() {
    return name;
  }

  public int wordCount() {
    return wordCount;
  }

  public int stateCount() {
    return next.size();
  }

  /** One to three whole sentences. */
  public String passage(SplittableRandom random) {
    int sentences = 1 + random.nextInt(3);
    StringBuilder out = new StringBuilder();
    long state = starts[random.nextInt(starts.length)];
    int emitted = 0;
    while (emitted < WORDS_MAX) {
      int b = (int) state;
      if (out.length() > 0) {
        out.append(' ');
      }
      out.append(words.get(b));
      emitted++;
      int[] options = next.get(state);
      int following = options == null ? START : options[random.nextInt(options.length)];
      if (following == START) {
        if (--sentences == 0) {
          break;
        }
        state = starts[random.nextInt(starts.length)];
      } else {
        state = key(b, following);
      }
    }
    return out.toString();
  }

  private static long key(int a, int b) {
    return ((long) a << 32) | (b & 0xFFFFFFFFL);
  }

  private static boolean endsSentence(String token) {
    char last = token.charAt(token.length() - 1);
    return last == '.' || last == '!' || last == '?';
  }
}
