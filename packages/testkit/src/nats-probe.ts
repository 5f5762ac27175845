// Proves a nats-server serves the protocol: its INFO greeting on a plain TCP connection.
import { createConnection } from "node:net";
import { TestkitError } from "./errors.js";

/** Where to probe, until when, and how to tell the server has died meanwhile. */
export interface InfoProbeOptions {
  host: string;
  port: number;
  /** Epoch ms after which the probe gives up. */
  deadline: number;
  /** Checked before each attempt, so a server that exits fails the probe at once. */
  isRunning: () => boolean;
}

/**
 * Resolves once a TCP connection to the server receives its `INFO {...}` greeting. "Server is ready" in the log
 * can precede serving clients on a loaded machine; the greeting cannot, and it needs no credentials, so it works
 * whatever auth or TLS a test's extra config adds.
 *
 * @example
 * await waitForInfoGreeting({ host: "127.0.0.1", port, deadline: Date.now() + 5_000, isRunning: () => true });
 */
export async function waitForInfoGreeting(opts: InfoProbeOptions): Promise<void> {
  let last = "no attempt made";
  while (Date.now() < opts.deadline) {
    if (!opts.isRunning()) throw new TestkitError("exited while being probed");
    const budget = Math.min(2_000, Math.max(1, opts.deadline - Date.now()));
    last = await readGreeting(opts.host, opts.port, budget);
    if (last.startsWith("INFO ")) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new TestkitError(`no INFO greeting on ${opts.host}:${opts.port}: ${last}`);
}

/** Connects and resolves with the first line the server sends, or with why nothing came. */
function readGreeting(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    let received = "";
    let timer: NodeJS.Timeout | undefined;
    const socket = createConnection({ host, port });
    const done = (result: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    timer = setTimeout(() => done(`no greeting within ${timeoutMs} ms`), timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("utf8");
      if (received.includes("\n")) done(received);
    });
    socket.on("error", (error) => done(error.message));
    socket.on("close", () => done(received || "connection closed without a greeting"));
  });
}
