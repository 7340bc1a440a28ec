// A TCP hop between the client and the shard proxy that drops real connections at chosen moments.
// It reads just enough HTTP/2 to know where frames start: a HEADERS or DATA frame on a stream (not
// the connection's SETTINGS, PING or WINDOW_UPDATE) is a request going up or a response coming down.

import net from "node:net";

/** The client's HTTP/2 connection preface, sent once before its first frame. */
const CLIENT_PREFACE_BYTES = 24;
const FRAME_HEADER_BYTES = 9;
const FRAME_DATA = 0x0;
const FRAME_HEADERS = 0x1;

type Direction = "request" | "response";

/** Finds the frames of one direction of an HTTP/2 connection as its bytes pass. */
class FrameScanner {
  private skip: number;
  private header = Buffer.alloc(0);

  constructor(skip: number) {
    this.skip = skip;
  }

  /** True when a HEADERS or DATA frame on a stream starts in this chunk. */
  startsStreamFrame(chunk: Buffer): boolean {
    let found = false;
    let offset = 0;
    while (offset < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - offset);
        offset += n;
        this.skip -= n;
        continue;
      }
      const take = Math.min(FRAME_HEADER_BYTES - this.header.length, chunk.length - offset);
      this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + take)]);
      offset += take;
      if (this.header.length === FRAME_HEADER_BYTES) {
        const type = this.header[3];
        const stream = this.header.readUInt32BE(5) & 0x7fffffff;
        found ||= stream !== 0 && (type === FRAME_DATA || type === FRAME_HEADERS);
        this.skip = this.header.readUIntBE(0, 3);
        this.header = Buffer.alloc(0);
      }
    }
    return found;
  }
}

export class FaultHop {
  /** Connections cut so far. */
  cuts = 0;
  private armed: { direction: Direction; times: number } | undefined;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
  ) {}

  /** A hop listening on 127.0.0.1 (an ephemeral port) that forwards to `upstream` (`host:port`). */
  static async start(upstream: string): Promise<FaultHop> {
    const [host, port] = splitAddress(upstream);
    const server = net.createServer();
    const hop = new FaultHop(server, host, port);
    server.on("connection", (client) => hop.relay(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    return hop;
  }

  /** Where the client should connect. */
  get address(): string {
    const a = this.server.address() as net.AddressInfo;
    return `127.0.0.1:${a.port}`;
  }

  /**
   * Cuts the connection carrying the next `times` responses as their first bytes arrive from the
   * server: the request took effect there, the client never hears of it.
   */
  cutResponses(times = 1): void {
    this.armed = { direction: "response", times };
  }

  /** Cuts the connection carrying the next `times` requests before the server sees them. */
  cutRequests(times = 1): void {
    this.armed = { direction: "request", times };
  }

  /** Lets everything through again. */
  disarm(): void {
    this.armed = undefined;
  }

  async close(): Promise<void> {
    this.disarm();
    for (const s of this.sockets) {
      s.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private relay(client: net.Socket): void {
    const upstream = net.connect(this.upstreamPort, this.upstreamHost);
    this.sockets.add(client).add(upstream);
    const requests = new FrameScanner(CLIENT_PREFACE_BYTES);
    const responses = new FrameScanner(0);
    const cut = () => {
      this.cuts++;
      client.resetAndDestroy();
      upstream.destroy();
    };
    client.on("data", (chunk: Buffer) => {
      if (requests.startsStreamFrame(chunk) && this.take("request")) {
        cut();
      } else {
        upstream.write(chunk);
      }
    });
    upstream.on("data", (chunk: Buffer) => {
      if (responses.startsStreamFrame(chunk) && this.take("response")) {
        cut();
      } else {
        client.write(chunk);
      }
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on("error", close);
      s.on("close", close);
    }
  }

  /** True when a cut is armed for this direction; uses it up. */
  private take(direction: Direction): boolean {
    if (this.armed?.direction !== direction || this.armed.times <= 0) {
      return false;
    }
    this.armed.times--;
    return true;
  }
}

function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(":");
  const port = Number(address.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port)) {
    throw new TypeError(`expected host:port, got '${address}'`);
  }
  return [address.slice(0, at), port];
}
