package fortress.bench;

import fortress.decoy.DecoyConfig;
import fortress.decoy.DecoyServer;
import fortress.decoy.generate.Generators;
import fortress.decoy.generate.MarkovText;
import fortress.decoy.v1.CreateTemplateRequest;
import fortress.decoy.v1.DecoyServiceGrpc;
import fortress.decoy.v1.GenerateRequest;
import fortress.decoy.v1.GenerateResponse;
import fortress.decoy.v1.RecordKind;
import fortress.decoy.v1.Template;
import fortress.decoy.v1.TemplateFamily;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Load generator for the decoy server. Starts a decoy server on its own embedded PostgreSQL and a
 * bare Netty HTTP server (the same codec, a fixed 200 answer: the ceiling), then measures:
 *
 * <ul>
 *   <li>Generate records/s per kind in process on one thread (the generators and the protobuf
 *       batches, no transport), and streamed over gRPC on loopback to one client, each streamed
 *       figure against the in-process one of its kind;
 *   <li>decoy HTTP requests/s to a template (rendered per client and captured) and to an unknown
 *       path (a 404, captured), against the bare Netty server at the same concurrency.
 * </ul>
 *
 * <pre>java -Xmx1g -cp benchmarks/target/benchmarks.jar fortress.bench.DecoyBench [--seconds=10]</pre>
 */
public final class DecoyBench {
  private static final String BARE = "bare Netty HTTP (fixed 200)";
  private static final int[] IN_FLIGHT = {16, 64};
  private static final RecordKind[] KINDS = {RecordKind.RECORD_KIND_USER_PROFILE, RecordKind.RECORD_KIND_TRANSACTION,
      RecordKind.RECORD_KIND_LOG_LINE, RecordKind.RECORD_KIND_TEXT};

  private DecoyBench() {}

  record Rate(String scenario, double perSecond, String versus) {}

  public static void main(String[] args) throws Exception {
    fortress.core.Settings s = new fortress.core.Settings(args, System.getenv());
    int seconds = s.integer("seconds", 10, 1, 3600, "measured seconds per scenario");
    int warmup = s.integer("warmup-seconds", 3, 0, 600, "unmeasured seconds before each scenario");
    int batch = s.integer("batch-size", 1000, 1, 10_000, "records per streamed Generate message");
    Flags.finish(s, args);

    List<Rate> generation = new ArrayList<>();
    MarkovText text = MarkovText.builtIn();
    for (RecordKind kind : KINDS) {
      generation.add(new Rate(name(kind) + ", in process", inProcess(kind, text, batch, seconds, warmup), ""));
    }

    Path data = Files.createTempDirectory("fortress-decoy-bench");
    EventLoopGroup bareGroup = new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());
    Channel bare = bareHttp(bareGroup);
    DecoyConfig config = DecoyConfig.parse(new String[] {"--grpc-port=0", "--http-port=0", "--metrics-port=0", "--data-dir=" + data,
        "--http-rate-per-client-per-second=1000000", "--http-burst-per-client=1000000",
        "--generate-count-max=1000000000"}, Map.of());
    try (DecoyServer server = DecoyServer.start(config)) {
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        server.close();
        ClosedLoop.deleteTree(data);
      }, "bench-shutdown"));
      ManagedChannel channel = ClosedLoop.channel("127.0.0.1:" + server.port());
      var stub = DecoyServiceGrpc.newBlockingStub(channel);
      for (RecordKind kind : KINDS) {
        double streamed = streamed(stub, kind, batch, seconds, warmup);
        generation.add(new Rate(name(kind) + ", streamed over gRPC", streamed, name(kind) + ", in process"));
      }
      stub.createTemplate(CreateTemplateRequest.newBuilder().setRequestId(UUID.randomUUID().toString())
          .setTemplate(Template.newBuilder().setTemplateId("users").setMethod("GET")
              .setPathPattern("/api/v1/users/{id}").setStatus(200).setFamily(TemplateFamily.TEMPLATE_FAMILY_JSON_API)
              .setBody("{\"id\":\"{{path.id}}\",\"name\":\"{{profile.name}}\",\"email\":\"{{profile.email}}\","
                  + "\"last_payment\":\"{{transaction.amount}}\"}")).build());
      int barePort = ((InetSocketAddress) bare.localAddress()).getPort();
      List<ClosedLoop.Result> http = new ArrayList<>();
      // Both servers' and the client's code paths are compiled before anything is measured.
      try (HttpLoad toBare = new HttpLoad("127.0.0.1", barePort, 16);
          HttpLoad toDecoy = new HttpLoad("127.0.0.1", server.httpPort(), 16)) {
        ClosedLoop.run("warm-up: bare (not reported)", 16, 1, Math.max(1, warmup), 0,
            () -> toBare.get(() -> "/api/v1/users/1"));
        ClosedLoop.run("warm-up: decoy (not reported)", 16, 1, Math.max(1, warmup), 0,
            () -> toDecoy.get(() -> "/api/v1/users/1"));
      }
      for (int inFlight : IN_FLIGHT) {
        try (HttpLoad toBare = new HttpLoad("127.0.0.1", barePort, inFlight);
            HttpLoad toDecoy = new HttpLoad("127.0.0.1", server.httpPort(), inFlight)) {
          http.add(ClosedLoop.run(BARE, inFlight, 1, seconds, warmup, () -> toBare.get(() -> "/api/v1/users/1")));
          http.add(ClosedLoop.run("decoy template (rendered, captured)", inFlight, 1, seconds, warmup,
              () -> toDecoy.get(() -> "/api/v1/users/" + ThreadLocalRandom.current().nextInt(1000))));
          http.add(ClosedLoop.run("decoy unknown path (404, captured)", inFlight, 1, seconds, warmup,
              () -> toDecoy.get(() -> "/wp-login.php")));
        }
      }
      System.out.printf("%nGenerate, one client, batches of %d records%n%n", batch);
      System.out.println("| scenario | records/s | vs |");
      System.out.println("|---|---:|---|");
      for (Rate r : generation) {
        String versus = "—";
        if (!r.versus().isEmpty()) {
          double base = generation.stream().filter(x -> x.scenario().equals(r.versus())).findFirst().orElseThrow()
              .perSecond();
          versus = String.format("%.0f%% of %s", 100 * r.perSecond() / base, r.versus());
        }
        System.out.printf("| %s | %.0f | %s |%n", r.scenario(), r.perSecond(), versus);
      }
      System.out.printf("%nDecoy HTTP, one request at a time on each of N keep-alive connections%n");
      ClosedLoop.print(http, BARE);
      System.out.printf("%n(%d measured seconds per scenario; interactions written %d, dropped %d)%n", seconds,
          server.interactionsWritten(), server.interactionsDropped());
      channel.shutdownNow();
    } finally {
      bare.close().syncUninterruptibly();
      bareGroup.shutdownGracefully().syncUninterruptibly();
    }
  }

  private static String name(RecordKind kind) {
    return kind.name().substring("RECORD_KIND_".length());
  }

  /** Records/s of the generators building protobuf batches on this thread, as Generate does per call. */
  private static double inProcess(RecordKind kind, MarkovText text, int batch, int seconds, int warmup) {
    long index = 0;
    long bytes = 0;
    long warmupEnd = System.nanoTime() + warmup * 1_000_000_000L;
    while (System.nanoTime() < warmupEnd) {
      bytes += batch(kind, text, index, batch).getSerializedSize();
      index += batch;
    }
    long start = System.nanoTime();
    long end = start + seconds * 1_000_000_000L;
    long records = 0;
    while (System.nanoTime() < end) {
      bytes += batch(kind, text, index, batch).getSerializedSize();
      index += batch;
      records += batch;
    }
    double rate = records / ((System.nanoTime() - start) / 1e9);
    System.err.printf("%-12s in process: %10.0f records/s (%d bytes built)%n", name(kind), rate, bytes);
    return rate;
  }

  private static GenerateResponse batch(RecordKind kind, MarkovText text, long from, int size) {
    GenerateResponse.Builder b = GenerateResponse.newBuilder();
    for (long i = from; i < from + size; i++) {
      Generators.add(b.addRecordsBuilder(), kind, 1, "", 0, i, text);
    }
    return b.build();
  }

  /** Records/s one client receives from a Generate stream, counted after the warm-up. */
  private static double streamed(DecoyServiceGrpc.DecoyServiceBlockingStub stub, RecordKind kind, int batch,
      int seconds, int warmup) throws Exception {
    // The stream asks for far more than is read; cancelling the context ends it on the server too.
    Context.CancellableContext context = Context.current().withCancellation();
    try {
      return context.call(() -> streamedIn(stub, kind, batch, seconds, warmup));
    } finally {
      context.cancel(null);
    }
  }

  private static double streamedIn(DecoyServiceGrpc.DecoyServiceBlockingStub stub, RecordKind kind, int batch,
      int seconds, int warmup) {
    Iterator<GenerateResponse> it = stub.generate(GenerateRequest.newBuilder().setKind(kind).setCount(1_000_000_000)
        .setSeed(1).setBatchSize(batch).build());
    long warmupEnd = System.nanoTime() + warmup * 1_000_000_000L;
    while (System.nanoTime() < warmupEnd) {
      it.next();
    }
    long start = System.nanoTime();
    long end = start + seconds * 1_000_000_000L;
    long records = 0;
    while (System.nanoTime() < end) {
      records += it.next().getRecordsCount();
    }
    double rate = records / ((System.nanoTime() - start) / 1e9);
    System.err.printf("%-12s streamed:   %10.0f records/s%n", name(kind), rate);
    return rate;
  }

  /** The ceiling: Netty's HTTP codec and aggregator answering a fixed 200, nothing else. */
  private static Channel bareHttp(EventLoopGroup group) throws InterruptedException {
    byte[] body = "{\"id\":\"1\"}".getBytes(StandardCharsets.UTF_8);
    return new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new HttpServerCodec()).addLast(new HttpObjectAggregator(65536))
                .addLast(new SimpleChannelInboundHandler<FullHttpRequest>() {
                  @Override
                  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
                    var response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                        Unpooled.wrappedBuffer(body));
                    response.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json")
                        .set(HttpHeaderNames.CONTENT_LENGTH, body.length);
                    ctx.writeAndFlush(response);
                  }
                });
          }
        }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
  }
}
