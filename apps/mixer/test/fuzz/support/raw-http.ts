// A raw HTTP client for hostile requests: the path goes out byte for byte (fetch would resolve `..` and `%2e%2e`),
// any header value Node accepts, bodies of any size with or without Content-Length, and a deadline on every call.
// An event stream is answered by its first message.
import { Agent, request } from "node:http";

export interface RawResponse {
  /** 0 when no response arrived (connection reset or refused). */
  status: number;
  /** Parsed JSON when the body is JSON, else the text. */
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  /** Set when the connection failed before a response (e.g. the server answered 413 and closed mid-upload). */
  error?: string;
  /** True when the deadline passed with no response: a hung request. */
  hung?: boolean;
  /** Set when a first attempt lost its connection and this answer is the retry's (see RawHttp.send). */
  retriedAfter?: string;
}

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Send the body chunked (no Content-Length), so the server must cap it while streaming. */
  chunked?: boolean;
  timeoutMs?: number;
}

/** Bodies up to this size are retried after a reset (larger ones may be a refused upload). */
const RETRY_BODY_LIMIT = 64 * 1024;
const RESET = /socket hang up|ECONNRESET|EPIPE/;

/** One client per Mixer: a small keep-alive pool so thousands of requests do not exhaust ephemeral ports. */
export class RawHttp {
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 16 });

  constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  /**
   * Sends one request. A keep-alive socket the server closed just as it was reused fails with ECONNRESET before
   * the request reached the server (Node documents this race); that attempt is retried once on a new connection
   * outside the pool. (Retrying through the pool could pick another socket closed at the same moment: after a pause
   * longer than the server's keep-alive timeout, every pooled socket is.)
   *
   * A small request whose connection was reset with no answer is retried the same way even when Node did not mark
   * the socket as reused: two CI runs of the API fuzz file (of about ten) lost one such request each ("socket hang
   * up", a 200-byte body), while the Mixer's log showed every request answered, and 20 local runs, 10 of them under
   * CPU load, never did. A large body is not retried: there a reset is how the server refuses an upload it will not
   * read (413). The retry's answer carries `retriedAfter`, so callers count it; a request the server really drops
   * fails again.
   */
  async send(req: RawRequest): Promise<RawResponse> {
    const first = await this.#attempt(req, this.#agent);
    const small = req.body === undefined || req.body.length <= RETRY_BODY_LIMIT;
    const reset = first.status === 0 && !first.hung && first.error !== undefined && RESET.test(first.error);
    if (first.staleSocket || (small && reset)) {
      const { staleSocket: _r, ...retry } = await this.#attempt(req, false);
      return { ...retry, retriedAfter: first.error ?? "reset" };
    }
    const { staleSocket: _s, ...res } = first;
    return res;
  }

  #attempt(req: RawRequest, agent: Agent | false): Promise<RawResponse & { staleSocket?: boolean }> {
    const timeoutMs = req.timeoutMs ?? 10_000;
    return new Promise<RawResponse & { staleSocket?: boolean }>((resolve) => {
      let settled = false;
      const done = (r: RawResponse & { staleSocket?: boolean }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      const headers: Record<string, string> = { ...req.headers };
      const body = req.body === undefined ? undefined : Buffer.from(req.body);
      if (body !== undefined && !req.chunked) headers["content-length"] = String(body.byteLength);
      if (body !== undefined && req.chunked) headers["transfer-encoding"] = "chunked";
      let outgoing: ReturnType<typeof request>;
      try {
        outgoing = request({
          host: this.host,
          port: this.port,
          method: req.method,
          path: req.path,
          headers,
          agent,
        });
      } catch (err) {
        // Node refuses some paths and header values itself (e.g. control characters): the Mixer never saw them.
        resolve({ status: -1, body: null, headers: {}, error: `client refused: ${(err as Error).message}` });
        return;
      }
      const timer = setTimeout(() => {
        outgoing.destroy(new Error("deadline"));
        done({ status: 0, body: null, headers: {}, hung: true, error: "no response before the deadline" });
      }, timeoutMs);
      outgoing.on("response", (res) => {
        const chunks: Buffer[] = [];
        // An event stream (GET /api/v1/events/stream) does not end: its first message is the answer, then it is closed.
        const stream = String(res.headers["content-type"] ?? "").startsWith("text/event-stream");
        res.on("data", (c: Buffer) => {
          chunks.push(c);
          if (!stream) return;
          done({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString("utf8"),
            headers: res.headers,
          });
          res.destroy();
        });
        res.on("error", (err) =>
          done({ status: res.statusCode ?? 0, body: null, headers: res.headers, error: err.message }),
        );
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = text === "" ? null : JSON.parse(text);
          } catch {
            // Not JSON (the docs page): keep the text.
          }
          done({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
      });
      outgoing.on("error", (err: NodeJS.ErrnoException) => {
        const stale =
          outgoing.reusedSocket && (err.code === "ECONNRESET" || err.message === "socket hang up");
        done({
          status: 0,
          body: null,
          headers: {},
          error: err.message,
          ...(stale ? { staleSocket: true } : {}),
        });
      });
      if (body === undefined) {
        outgoing.end();
      } else if (req.chunked) {
        // A few chunks, so the server sees a stream rather than one buffer.
        const step = Math.max(1, Math.ceil(body.byteLength / 4));
        for (let at = 0; at < body.byteLength; at += step) outgoing.write(body.subarray(at, at + step));
        outgoing.end();
      } else {
        outgoing.end(body);
      }
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}
