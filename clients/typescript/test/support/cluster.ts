// A real local cluster for the tests: the launcher jar that `deploy/local/run` starts (embedded
// PostgreSQL, three ledger nodes, the shard proxy, shadow and decoy), on ephemeral ports and a fresh
// data directory, stopped with SIGTERM.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FortressClient } from "../../src/index.js";

/** How long the cluster may take to report every server SERVING (2-core machines are slow). */
const START_TIMEOUT_MS = 240_000;
/** How long it may take to stop after SIGTERM. */
const STOP_TIMEOUT_MS = 60_000;
/** How much of the launcher's output (and of the log of the server that failed) a start failure shows. */
const LOG_TAIL_CHARS = 4_000;
/**
 * Starts tried before giving up. The launcher picks its ephemeral ports by binding port 0 and
 * letting go, so on a busy machine another process can take one before its server binds it: the
 * server then exits (and the launcher with it), or, worse, the launcher's health check reaches the
 * other process and reports the cluster ready. A fresh start picks fresh ports.
 */
const START_TRIES_MAX = 3;

/** The repository root: FORTRESS_ROOT, or the checkout this package sits in. */
export function fortressRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(process.env["FORTRESS_ROOT"] ?? path.join(here, "..", "..", "..", ".."));
}

export class LocalCluster {
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    /** The shard proxy, `host:port`. */
    readonly proxyAddress: string,
    /** The development token (tenant acme, admin role). */
    readonly token: string,
    readonly dataDir: string,
    private readonly onExit: () => void,
  ) {
    this.exited = exitOf(child);
  }

  static async start(root = fortressRoot()): Promise<LocalCluster> {
    const jar = path.join(root, "deploy", "local", "target", "local-cluster.jar");
    if (!existsSync(jar)) {
      throw new Error(`${jar} is missing: build the jars first (mvn -B -DskipTests install in ${root}), or set FORTRESS_ROOT`);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        return await LocalCluster.startOnce(jar, root);
      } catch (e) {
        if (!(e instanceof StartFailed) || attempt >= START_TRIES_MAX) {
          throw e;
        }
        console.error(`# local cluster start ${attempt} of ${START_TRIES_MAX} failed, starting afresh: ${e.message}`);
      }
    }
  }

  private static async startOnce(jar: string, root: string): Promise<LocalCluster> {
    const dataDir = mkdtempSync(path.join(tmpdir(), "fortress-ts-"));
    const child = spawn("java", [
      "-Xmx128m",
      "-Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener",
      "-jar", jar,
      `--root=${root}`,
      `--data-dir=${dataDir}`,
      "--proxy-port=0", "--shadow-port=0", "--decoy-port=0", "--decoy-http-port=0", "--node-port-base=0", "--metrics-port-base=0",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    // If the test process dies first, the cluster goes with it.
    const onExit = () => child.kill("SIGTERM");
    process.once("exit", onExit);
    try {
      const proxy = await readyBanner(child);
      const token = readFileSync(path.join(dataDir, "dev-token"), "utf8").trim();
      await everyNodeIsOurs(proxy, token);
      return new LocalCluster(child, proxy, token, dataDir, onExit);
    } catch (e) {
      process.removeListener("exit", onExit);
      child.kill("SIGTERM");
      await exitOf(child);
      rmSync(dataDir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Stops every server and removes the data directory. */
  async stop(): Promise<void> {
    process.removeListener("exit", this.onExit);
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Resolves with the exit code once the process has exited (at once if it has). */
function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(child.exitCode);
  }
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/** A start that a fresh start may cure: a server could not bind its port. */
class StartFailed extends Error {}

/**
 * Checks that the proxy reaches every node of this cluster: a node whose port another process
 * took refuses the proxy's credentials, and VerifyCluster names it.
 */
async function everyNodeIsOurs(proxy: string, token: string): Promise<void> {
  const client = new FortressClient({ address: proxy, tenant: "acme", token });
  try {
    const unreachable = (await client.verifyCluster()).nodes.filter((n) => n.error !== "");
    if (unreachable.length > 0) {
      throw new StartFailed(`the proxy cannot use ${unreachable.map((n) => `${n.nodeId} (${n.error})`).join(", ")}`);
    }
  } finally {
    client.close();
  }
}

/** Waits for the launcher's ready banner and returns the proxy's address from it. */
function readyBanner(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const said = () => `the launcher said:\n${out.slice(-LOG_TAIL_CHARS)}${failedServerLog(out)}`;
    const timer = setTimeout(() => reject(new Error(`the cluster was not ready within ${START_TIMEOUT_MS} ms; ${said()}`)),
      START_TIMEOUT_MS);
    const read = (chunk: Buffer) => {
      out += chunk.toString();
      const proxy = /is ready\.[\s\S]*?^\s*proxy\s+(\S+:\d+)/m.exec(out)?.[1];
      if (proxy !== undefined) {
        clearTimeout(timer);
        child.stdout?.removeListener("data", read);
        child.stderr?.removeListener("data", read);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(proxy);
      }
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", read);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new StartFailed(`the launcher exited with ${code} before it was ready; ${said()}`));
    });
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`the launcher could not start: ${e.message}`));
    });
  });
}

/** The end of the log the launcher points at when a server failed (`see <data-dir>/logs/x.log`). */
function failedServerLog(out: string): string {
  const log = /see (\S+\.log)/.exec(out)?.[1];
  if (log === undefined || !existsSync(log)) {
    return "";
  }
  return `\n--- ${log}:\n${readFileSync(log, "utf8").slice(-LOG_TAIL_CHARS)}`;
}
