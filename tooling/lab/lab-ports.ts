// Picks the lab's ports: the usual one when it is free, another free one (and a note saying so) when it is taken.
import { createServer } from "node:net";

/** Resolves with the port it could listen on: `port`, or one the OS picked when `port` is 0; rejects when taken. */
function listenOnce(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error(`unexpected listen address ${String(address)}`));
      });
    });
  });
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
