package fortress.bench;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkState;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * One JFR recording per server process for the whole run (started and stopped with the JDK's
 * {@code jcmd}, so the servers need no flag of their own), read back afterwards with the
 * jdk.jfr.consumer API and sliced by each scenario's measured window. For a window it counts the
 * {@code jdk.ExecutionSample} events (JFR's "default" settings: a thread running Java code is
 * sampled every 20 ms) by the frame on top of the stack (where the time went), and by the
 * innermost Fortress frame (which Fortress code it went through). It also sums the
 * {@code jdk.ThreadCPULoad} events (every 10 s, per thread) to show how much of the process's CPU
 * went to the JIT compiler's threads, which execution samples never see: at low concurrency that
 * is most of a process's CPU per call.
 */
final class Profiles {
  private static final String RECORDING = "clusterbench";
  private static final String SAMPLE = "jdk.ExecutionSample";
  private static final String THREAD_LOAD = "jdk.ThreadCPULoad";
  private static final long JCMD_TIMEOUT_S = 60;

  /**
   * Samples of one process in one window, by top frame and by innermost Fortress frame, and the
   * share of its threads' CPU load that its JIT compiler threads had (NaN without a load event).
   */
  record Frames(long samples, Map<String, Long> top, Map<String, Long> fortress, double compilerShare) {}

  private final Path dir;
  private final Map<String, Long> pids;

  private Profiles(Path dir, Map<String, Long> pids) {
    this.dir = dir;
    this.pids = pids;
  }

  /** Starts a recording in each process, by name, written to {@code dir/<name>.jfr} when stopped. */
  static Profiles start(Path dir, Map<String, Long> pids) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    Profiles p = new Profiles(dir, new LinkedHashMap<>(pids));
    for (Map.Entry<String, Long> e : p.pids.entrySet()) {
      jcmd(e.getValue(), "JFR.start", "name=" + RECORDING, "settings=default",
          "filename=" + p.file(e.getKey()).toAbsolutePath());
    }
    return p;
  }

  /** Stops every recording, which writes its file. */
  void stop() throws IOException, InterruptedException {
    for (long pid : pids.values()) {
      jcmd(pid, "JFR.stop", "name=" + RECORDING);
    }
  }

  Path file(String name) {
    return dir.resolve(name + ".jfr");
  }

  /** The samples of the named process in each window, in the windows' order (each read once from its file). */
  List<Frames> frames(String name, List<ServerCost> windows) throws IOException {
    checkArgument(pids.containsKey(name), "%s was not recorded", name);
    List<Map<String, Long>> top = new ArrayList<>();
    List<Map<String, Long>> fortress = new ArrayList<>();
    long[] samples = new long[windows.size()];
    double[] compilerLoad = new double[windows.size()];
    double[] load = new double[windows.size()];
    for (int i = 0; i < windows.size(); i++) {
      top.add(new HashMap<>());
      fortress.add(new HashMap<>());
    }
    try (RecordingFile file = new RecordingFile(file(name))) {
      while (file.hasMoreEvents()) {
        RecordedEvent event = file.readEvent();
        if (event.getEventType().getName().equals(THREAD_LOAD)) {
          int i = window(windows, event.getStartTime());
          if (i >= 0) {
            double threadLoad = event.getFloat("user") + event.getFloat("system");
            load[i] += threadLoad;
            String thread = event.getThread() == null ? "" : event.getThread().getJavaName();
            if (thread != null && thread.contains("CompilerThread")) {
              compilerLoad[i] += threadLoad;
            }
          }
          continue;
        }
        if (!event.getEventType().getName().equals(SAMPLE) || event.getStackTrace() == null
            || event.getStackTrace().getFrames().isEmpty()) {
          continue;
        }
        int i = window(windows, event.getStartTime());
        if (i < 0) {
          continue;
        }
        samples[i]++;
        List<RecordedFrame> stack = event.getStackTrace().getFrames();
        top.get(i).merge(frame(stack.get(0)), 1L, Long::sum);
        stack.stream().filter(f -> f.getMethod().getType().getName().startsWith("fortress.")).findFirst()
            .ifPresent(f -> fortress.get(i).merge(frame(f), 1L, Long::sum));
      }
    }
    List<Frames> out = new ArrayList<>();
    for (int i = 0; i < windows.size(); i++) {
      out.add(new Frames(samples[i], top.get(i), fortress.get(i),
          load[i] == 0 ? Double.NaN : compilerLoad[i] / load[i]));
    }
    return out;
  }

  /** Prints one process's {@code n} most sampled top frames and Fortress frames, with their share of its samples. */
  static void print(String name, Frames f, int n) {
    System.out.printf("%s: %d samples%s%n", name, f.samples(), Double.isNaN(f.compilerShare()) ? ""
        : String.format("; JIT compiler threads had %.0f%% of its threads' CPU load", 100 * f.compilerShare()));
    print("top of stack", f.top(), f.samples(), n);
    print("innermost Fortress frame", f.fortress(), f.samples(), n);
  }

  private static void print(String title, Map<String, Long> counts, long samples, int n) {
    System.out.printf("  %s:%n", title);
    counts.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(n)
        .forEach(e -> System.out.printf("    %5.1f%%  %s%n", 100.0 * e.getValue() / samples, e.getKey()));
  }

  private static int window(List<ServerCost> windows, Instant t) {
    for (int i = 0; i < windows.size(); i++) {
      ServerCost w = windows.get(i);
      if (!t.isBefore(w.from()) && t.isBefore(w.to())) {
        return i;
      }
    }
    return -1;
  }

  private static String frame(RecordedFrame f) {
    return f.getMethod().getType().getName() + "." + f.getMethod().getName();
  }

  private static void jcmd(long pid, String... command) throws IOException, InterruptedException {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    checkState(Files.isExecutable(jcmd), "%s is missing: --jfr needs a JDK's jcmd", jcmd);
    List<String> args = new ArrayList<>(List.of(jcmd.toString(), Long.toString(pid)));
    args.addAll(List.of(command));
    Process p = new ProcessBuilder(args).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes());
    checkState(p.waitFor(JCMD_TIMEOUT_S, TimeUnit.SECONDS) && p.exitValue() == 0, "%s failed: %s", args, output);
  }
}
