package fortress.bench;

import fortress.local.LocalCluster;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Scrapes every server's Prometheus endpoint while a benchmark runs, in the background, and
 * prints what it saw: for each server, each Fortress and RPC metric family with its series count,
 * and the figures that summarise a run (mean writer batch, 2PC phases, RPC calls).
 */
final class MetricsProbe {
  private final LocalCluster cluster;
  private final Map<String, String> scraped = new LinkedHashMap<>();
  private final Thread thread;

  private MetricsProbe(LocalCluster cluster, long afterMs) {
    this.cluster = cluster;
    this.thread = new Thread(() -> {
      try {
        Thread.sleep(afterMs);
        scrape();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "metrics-probe");
    thread.setDaemon(true);
  }

  /** Scrapes every server {@code afterMs} from now. */
  static MetricsProbe after(LocalCluster cluster, long afterMs) {
    MetricsProbe probe = new MetricsProbe(cluster, afterMs);
    probe.thread.start();
    return probe;
  }

  private synchronized void scrape() {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    for (String name : cluster.names()) {
      try {
        scraped.put(name, http.send(HttpRequest.newBuilder(URI.create(cluster.metricsUrl(name)))
            .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body());
      } catch (Exception e) {
        scraped.put(name, "# scrape failed: " + e);
      }
    }
  }

  /** Prints what the scrape found (waits for it if it has not happened yet). */
  void print() throws InterruptedException {
    thread.join();
    synchronized (this) {
      System.out.println();
      System.out.println("Metrics scraped from each server's /metrics during the run:");
      scraped.forEach((name, text) -> {
        Map<String, Integer> families = new TreeMap<>();
        double batchSum = 0;
        double batchCount = 0;
        double rpcCalls = 0;
        Map<String, Double> phases = new TreeMap<>();
        for (String line : text.split("\n")) {
          if (line.startsWith("#") || line.isBlank()) {
            continue;
          }
          String metric = line.replaceAll("[{ ].*", "");
          double value = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
          String family = metric.replaceAll("_(bucket|count|sum|total)$", "");
          if (family.startsWith("fortress_") || family.startsWith("rpc_")) {
            families.merge(family, 1, Integer::sum);
          }
          if (metric.equals("fortress_ledger_writer_batch_size_sum")) {
            batchSum += value;
          } else if (metric.equals("fortress_ledger_writer_batch_size_count")) {
            batchCount += value;
          } else if (metric.equals("rpc_server_duration_milliseconds_count")) {
            rpcCalls += value;
          } else if (metric.equals("fortress_ledger_twopc_phase_duration_milliseconds_count")) {
            String phase = line.replaceAll(".*phase=\"([a-z]+)\".*", "$1");
            phases.merge(phase, value, Double::sum);
          }
        }
        System.out.printf("  %-9s %.0f RPCs served%s%s%n", name, rpcCalls,
            batchCount > 0 ? String.format("; mean writer batch %.1f over %.0f commits", batchSum / batchCount,
                batchCount) : "",
            phases.isEmpty() ? "" : "; 2PC phases " + phases.toString().replace(".0", ""));
        System.out.printf("            %s%n", String.join(", ", families.keySet()));
      });
    }
  }
}
