// Serves the API app over HTTP/1.1 with @hono/node-server, and closes gracefully: stop accepting, drain, bounded.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { getRequestListener } from "@hono/node-server";
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
  // What createAdaptorServer builds, plus an error handler: a request the adapter cannot turn into a Request
  // (e.g. a backslash in the path) gets the API's JSON error body instead of an empty 400.
  const listener = getRequestListener(opts.app.fetch, {
    hostname: host,
    errorHandler: (err) => adapterErrorResponse(err, opts.logger),
  });
  const server = createServer({}, listener);
  // Requests Node's HTTP parser refuses (headers or URL over its limit, broken HTTP) never reach the app; they get
  // the same JSON error shape instead of Node's bodiless default. The answer mirrors Node's statuses.
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, reason, code, message] =
      err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large", "too_large", "request headers (or the URL) are too large"]
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? [408, "Request Timeout", "bad_request", "the request did not arrive in time"]
          : [400, "Bad Request", "malformed", "the request is not valid HTTP/1.1"];
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    );
  });
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

/** The JSON error for a request that never reached the app: 400 `malformed` for a bad target, else 500. */
export function adapterErrorResponse(err: unknown, logger: Logger): Response {
  const isRequestError = err instanceof Error && err.name === "RequestError";
  if (!isRequestError) logger.error({ err }, "api: request failed before the app");
  const body = isRequestError
    ? { error: { code: "malformed", message: `invalid request: ${err.message.slice(0, 200)}` } }
    : { error: { code: "internal", message: "internal error; see the Mixer's log" } };
  return new Response(JSON.stringify(body), {
    status: isRequestError ? 400 : 500,
    headers: { "content-type": "application/json", "x-content-type-options": "nosniff" },
  });
}
