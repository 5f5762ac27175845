// The parent side of the no-op subscriber: starts it as a child process and reads its running count.
import { fileURLToPath } from "node:url";
import { repoRoot, type SpawnedProcess, spawnScript, waitFor } from "@fluxrig/testkit";

interface NoopReport {
  t: number;
  count: number;
  bytes: number;
  connections: number;
}

/** What the phases read of the no-op subscriber. */
export type HeartbeatProbe = Pick<NoopProbe, "count" | "pid" | "freshCount" | "stop">;

/**
 * On a JWT bus the no-op subscriber (an anonymous raw client) may not connect, let alone subscribe to every
 * heartbeat: this stand-in reports nothing, and the rate steps that need it are skipped.
 */
export const NO_PROBE: HeartbeatProbe = {
  count: 0,
  pid: undefined,
  freshCount: async () => ({ count: 0, t: Date.now() }),
  stop: async () => {},
};

export class NoopProbe {
  #last: NoopReport = { t: 0, count: 0, bytes: 0, connections: 0 };

  private constructor(readonly proc: SpawnedProcess) {
    let tail = "";
    proc.child.stdout?.on("data", (chunk: Buffer) => {
      const lines = (tail + chunk.toString("utf8")).split("\n");
      tail = lines.pop() ?? "";
      for (const line of lines) {
        try {
          const r = JSON.parse(line) as NoopReport;
          if (typeof r.count === "number") this.#last = r;
        } catch {
          // Not a report line (a warning on stdout): the log keeps it.
        }
      }
    });
  }

  /** Starts the subscriber on `fluxrig.event.heartbeat.>` and waits until it has subscribed. */
  static async start(port: number): Promise<NoopProbe> {
    const script = fileURLToPath(new URL("./noop-subscriber.ts", import.meta.url));
    const proc = spawnScript(script, {
      // The subscriber is TypeScript like the rest of the benchmark: run it through tsx's loader.
      nodeArgs: ["--import", import.meta.resolve("tsx")],
      args: [String(port), "fluxrig.event.heartbeat.>"],
      cwd: repoRoot(),
      stdin: "pipe",
      label: "noop-subscriber",
      stopGraceMs: 2_000,
    });
    const probe = new NoopProbe(proc);
    try {
      await waitFor(() => probe.#last.connections > 0, {
        timeoutMs: 20_000,
        message: "no-op subscriber connected",
      });
    } catch (err) {
      await proc.stop();
      throw new Error(`no-op subscriber did not start: ${proc.output(20)}`, { cause: err });
    }
    return probe;
  }

  /** Messages received so far (as of its last report, at most 200 ms old). */
  get count(): number {
    return this.#last.count;
  }

  get pid(): number | undefined {
    return this.proc.running ? this.proc.pid : undefined;
  }

  /** Waits for a fresh report (so a reading taken now is at most one report stale) and answers its count. */
  async freshCount(): Promise<{ count: number; t: number }> {
    const since = Date.now();
    await waitFor(() => this.#last.t >= since, {
      timeoutMs: 2_000,
      message: "no-op subscriber report",
    }).catch(() => undefined);
    return { count: this.#last.count, t: this.#last.t };
  }

  async stop(): Promise<void> {
    this.proc.child.stdin?.end();
    await this.proc.stop();
  }
}
