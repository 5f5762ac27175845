// Picks the lab's ports: the usual one when it is free, another free one (and a note saying so) when it is taken.
import { createServer } from "node:net";

/**
 * Listens on `port` (0: one the OS picks) and resolves with the port and how to let it go; rejects when taken. While
 * held, nobody else on the host can take the port.
 */
function listenHeld(host: string, port: number): Promise<{ port: number; release: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    // A connection to a held port (a node already started dialling a route to one not started yet) is closed at
    // once: left open, it would keep `close` from ever calling back.
    const server = createServer((socket) => socket.destroy());
    server.unref();
    server.once("error", reject);
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      const release = () => new Promise<void>((done) => server.close(() => done()));
      if (address !== null && typeof address === "object") resolve({ port: address.port, release });
      else void release().then(() => reject(new Error(`unexpected listen address ${String(address)}`)));
    });
  });
}

/** Resolves with the port it could listen on: `port`, or one the OS picked when `port` is 0; rejects when taken. */
async function listenOnce(host: string, port: number): Promise<number> {
  const held = await listenHeld(host, port);
  await held.release();
  return held.port;
}

async function isFree(host: string, port: number): Promise<boolean> {
  try {
    await listenOnce(host, port);
    return true;
  } catch {
    return false;
  }
}

/** A port chosen for one service, and a line for the operator when it is not the usual one. */
export interface PortChoice {
  port: number;
  note?: string;
}

/**
 * A free port kept listening until its service is about to start: a port chosen and let go at once can be taken by
 * any other process (an outgoing connection's local port too) in the seconds before the service binds it, which the
 * cluster lab's start takes (seen once in 140 starts run side by side with other tests).
 */
export interface HeldPortChoice extends PortChoice {
  /** Lets the port go: call right before starting the service that binds it. Idempotent. */
  release(): Promise<void>;
}

/** {@link choosePort}, with the chosen port held (listening) until `release`. */
export async function holdPort(opts: Parameters<typeof choosePort>[0]): Promise<HeldPortChoice> {
  for (let attempt = 1; ; attempt++) {
    const choice = await choosePort(opts);
    try {
      const held = await listenHeld(opts.host, choice.port);
      let released: Promise<void> | undefined;
      return { ...choice, release: () => (released ??= held.release()) };
    } catch (error) {
      // Taken between the check and the hold: a port asked for by number is an error, another free one is tried.
      if ((opts.requested !== undefined && opts.requested !== 0) || attempt >= 5) throw error;
    }
  }
}

/**
 * `requested` undefined: `preferred`, or any free port if that is taken (with a note); 0: any free port;
 * otherwise exactly `requested`, and an error naming `flag` if it is taken. `avoid` holds ports already handed out.
 * @example await choosePort({ host: "127.0.0.1", requested: undefined, preferred: 4222, what: "nats-server", flag: "--nats-port" });
 */
export async function choosePort(opts: {
  host: string;
  requested: number | undefined;
  preferred: number;
  what: string;
  flag: string;
  avoid?: readonly number[];
}): Promise<PortChoice> {
  const avoid = new Set(opts.avoid ?? []);
  if (opts.requested !== undefined && opts.requested !== 0) {
    if (avoid.has(opts.requested) || !(await isFree(opts.host, opts.requested))) {
      throw new Error(`${opts.what}: port ${opts.requested} on ${opts.host} is taken (${opts.flag})`);
    }
    return { port: opts.requested };
  }
  if (
    opts.requested === undefined &&
    !avoid.has(opts.preferred) &&
    (await isFree(opts.host, opts.preferred))
  ) {
    return { port: opts.preferred };
  }
  let port = await listenOnce(opts.host, 0);
  while (avoid.has(port)) port = await listenOnce(opts.host, 0);
  return opts.requested === 0
    ? { port }
    : { port, note: `port ${opts.preferred} is taken: ${opts.what} uses ${opts.host}:${port} instead` };
}
