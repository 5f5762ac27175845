// Serves the API app over HTTP/1.1 with @hono/node-server, and closes gracefully: stop accepting, drain, bounded.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import type { Logger } from "pino";
import { MixerError } from "../runtime/errors.js";

/** The listen address is not `host:port`. */
export class ApiListenAddressError extends MixerError {
  override readonly name = "ApiListenAddressError";
  constructor(readonly listen: string) {
    super(
      "api_listen_invalid",
      `[api] listen ${JSON.stringify(listen)}: expected host:port such as 127.0.0.1:8090`,
    );
  }
}

/** The socket could not be bound (port taken, address not local, no permission). */
export class ApiListenError extends MixerError {
  override readonly name = "ApiListenError";
  constructor(
    readonly listen: string,
    options: { cause: unknown },
  ) {
    const code = (options.cause as NodeJS.ErrnoException | undefined)?.code;
    const hint = code === "EADDRINUSE" ? ": the port is taken (another Mixer?)" : code ? ` (${code})` : "";
    super("api_listen_failed", `cannot listen on ${listen}${hint}`, options);
  }
}

export interface ApiServer {
  /** `http://host:port`, with the real port when 0 was asked for. */
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish, then cuts what is left after the grace period. Idempotent. */
  close(): Promise<void>;
}

/** Splits `host:port`; IPv6 hosts come in brackets (`[::1]:8090`). */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[2]);
  if (match === null || !(port >= 0 && port <= 65535)) throw new ApiListenAddressError(listen);
  return { host: match[1]!.replace(/^\[|\]$/g, ""), port };
}

/**
 * Starts serving `app` on `listen`; resolves once the socket is bound.
 *
 * @example
 * const server = await startApiServer({ app: createApi(deps), listen: "127.0.0.1:8090", logger });
 * await server.close();
 */
export async function startApiServer(opts: {
  app: { fetch: (request: Request) => Response | Promise<Response> };
  listen: string;
  logger: Logger;
  /** How long in-flight requests get once close() is called; default 5 s. */
  closeGraceMs?: number;
}): Promise<ApiServer> {
  const { host, port } = parseListen(opts.listen);
  // The adapter creates a plain node:http server unless told otherwise.
  const server = createAdaptorServer({ fetch: opts.app.fetch, hostname: host }) as Server;
  await new Promise<void>((resolve, reject) => {
    const onError = (cause: unknown) => {
      server.off("listening", onListening);
      reject(new ApiListenError(opts.listen, { cause }));
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, host);
  });
  const bound = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${bound}`;
  server.on("error", (err) => opts.logger.error({ err }, "api: server error"));
  opts.logger.info({ url }, "api: listening");

  const graceMs = opts.closeGraceMs ?? 5000;
  let closing: Promise<void> | undefined;
  // A keep-alive socket whose last request finishes after close() turns idle only then; without this it would hold
  // close() until the keep-alive timeout. The socket is released right after "finish", hence setImmediate.
  server.on("request", (_req, res) => {
    res.once("finish", () => {
      if (closing !== undefined) setImmediate(() => server.closeIdleConnections());
    });
  });
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        opts.logger.warn(
          { grace_ms: graceMs },
          "api: requests still running after the grace period; closing them",
        );
        server.closeAllConnections();
      }, graceMs);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        opts.logger.info("api: closed");
        resolve();
      });
      // Keep-alive sockets with no request in flight would otherwise hold close() until they time out.
      server.closeIdleConnections();
    });
    return closing;
  };
  return { url, port: bound, close };
}
