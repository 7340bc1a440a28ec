package fortress.core.telemetry;

import fortress.core.Ports;
import fortress.core.Settings;
import io.grpc.ClientInterceptor;
import io.grpc.ServerInterceptor;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.exporter.otlp.http.metrics.OtlpHttpMetricExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.prometheus.PrometheusHttpServer;
import io.opentelemetry.instrumentation.grpc.v1_6.GrpcTelemetry;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.SdkMeterProviderBuilder;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SdkTracerProviderBuilder;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One server's OpenTelemetry: a meter and tracer, the gRPC instrumentation (a span and a latency
 * histogram per RPC, W3C trace context carried on every call), a Prometheus endpoint at
 * {@code http://<metrics-host>:<metrics-port>/metrics}, and OTLP/HTTP export of traces and
 * metrics when {@code --otlp-endpoint} is set. {@link #NOOP} records nothing (in-process tests).
 */
public final class Telemetry implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Telemetry.class);
  private static final String SCOPE = "dev.fortress";

  /** Where metrics are served and traces sent; a metrics port of -1 serves none. */
  public record Config(String serviceName, String instanceId, String metricsHost, int metricsPort,
      String otlpEndpoint) {
    /**
     * Reads --metrics-host, --metrics-port and --otlp-endpoint; {@code instanceId} tells this
     * process from others of the same service (a ledger node's id).
     */
    public static Config read(Settings s, String serviceName, String instanceId, int defaultMetricsPort) {
      String host = s.string("metrics-host", "127.0.0.1", "address the Prometheus endpoint binds");
      int port = s.integer("metrics-port", defaultMetricsPort, -1, 65535,
          "Prometheus endpoint port (/metrics); 0 picks a free one, -1 serves none");
      String otlp = s.string("otlp-endpoint", null, "OTLP/HTTP collector base URL (e.g. http://collector:4318) "
          + "for traces and metrics; unset exports none");
      if (otlp != null && !otlp.matches("https?://.+")) {
        s.problem("--otlp-endpoint must be an http:// or https:// URL");
      }
      return new Config(serviceName, instanceId, host, port, otlp);
    }
  }

  /** Records nothing and serves nothing. */
  public static final Telemetry NOOP = new Telemetry(OpenTelemetry.noop(), null, -1);

  private final OpenTelemetry otel;
  private final OpenTelemetrySdk sdk;
  private final int metricsPort;
  private final GrpcTelemetry grpc;

  private Telemetry(OpenTelemetry otel, OpenTelemetrySdk sdk, int metricsPort) {
    this.otel = otel;
    this.sdk = sdk;
    this.metricsPort = metricsPort;
    this.grpc = GrpcTelemetry.create(otel);
  }

  /** Starts the SDK and the endpoint. */
  public static Telemetry start(Config c) {
    Resource resource = Resource.getDefault().merge(Resource.create(Attributes.of(
        AttributeKey.stringKey("service.name"), c.serviceName(),
        AttributeKey.stringKey("service.instance.id"), c.instanceId())));
    SdkMeterProviderBuilder meters = SdkMeterProvider.builder().setResource(resource);
    int port = c.metricsPort() == 0 ? freePort() : c.metricsPort();
    if (port > 0) {
      PrometheusHttpServer endpoint;
      try {
        endpoint = Ports.bind("metrics-port", c.metricsHost(), port,
            () -> PrometheusHttpServer.builder().setHost(c.metricsHost()).setPort(port).build());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      meters.registerMetricReader(endpoint);
    }
    // Without a collector no span is recorded (but trace context still travels on every call).
    SdkTracerProviderBuilder tracers = SdkTracerProvider.builder().setResource(resource)
        .setSampler(c.otlpEndpoint() == null ? Sampler.alwaysOff() : Sampler.parentBased(Sampler.alwaysOn()));
    if (c.otlpEndpoint() != null) {
      String base = c.otlpEndpoint().replaceAll("/+$", "");
      meters.registerMetricReader(PeriodicMetricReader.builder(OtlpHttpMetricExporter.builder()
          .setEndpoint(base + "/v1/metrics").build()).setInterval(Duration.ofSeconds(30)).build());
      tracers.addSpanProcessor(BatchSpanProcessor.builder(OtlpHttpSpanExporter.builder()
          .setEndpoint(base + "/v1/traces").build()).build());
    }
    OpenTelemetrySdk sdk = OpenTelemetrySdk.builder()
        .setMeterProvider(meters.build())
        .setTracerProvider(tracers.build())
        .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
        .build();
    Telemetry t = new Telemetry(sdk, sdk, port);
    if (port > 0) {
      log.info("metrics at http://{}:{}/metrics{}", c.metricsHost(), port,
          c.otlpEndpoint() == null ? "" : "; traces and metrics to " + c.otlpEndpoint());
    }
    return t;
  }

  public Meter meter() {
    return otel.getMeter(SCOPE);
  }

  public Tracer tracer() {
    return otel.getTracer(SCOPE);
  }

  /** A span and the rpc.server.duration histogram per call; joins the caller's trace. */
  public ServerInterceptor serverInterceptor() {
    return grpc.createServerInterceptor();
  }

  /** A span and the rpc.client.duration histogram per call; carries the trace to the callee. */
  public ClientInterceptor clientInterceptor() {
    return grpc.createClientInterceptor();
  }

  /** The Prometheus endpoint's bound port, or -1 if it serves none. */
  public int metricsPort() {
    return metricsPort;
  }

  private static int freePort() {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      return s.getLocalPort();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("no free port for the metrics endpoint", e);
    }
  }

  @Override
  public void close() {
    if (sdk != null) {
      sdk.close();
    }
  }
}
