// The REST client: bearer token, actor header, a timeout on every request, and every failure mapped to an exit code.
import { randomUUID } from "node:crypto";
import type { ApiErrorBody } from "./api-types.js";
import { CliError } from "./cli-error.js";
import { formatDuration } from "./durations.js";
import { EXIT, exitCodeForStatus } from "./exit-codes.js";

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  baseUrl: string;
  token: string | undefined;
  timeoutMs: number;
  /** With the bootstrap token, recorded in the audit log as `api:<actor>` (a label, not an identity); a named token is recorded by its own name. */
  actor?: string | undefined;
  fetch: FetchLike;
  userAgent: string;
  /** Says where the token came from (or how to give one) when the Mixer answers 401. */
  tokenHint: string;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface ApiRequest {
  method: "GET" | "POST" | "DELETE";
  path: string;
  query?: Query | undefined;
  /** A JSON body. */
  json?: unknown;
  /** A raw body with its media type (scenario YAML). */
  text?: { body: string; contentType: string } | undefined;
}

// The server keeps [A-Za-z0-9._@+-], 64 characters; anything else would make fetch refuse the header.
function headerSafeActor(actor: string): string {
  return actor.replace(/[^A-Za-z0-9._@+-]/g, "").slice(0, 64);
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found in DNS",
  EAI_AGAIN: "DNS lookup failed",
  ECONNRESET: "connection reset",
  EPIPE: "connection closed",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  UND_ERR_SOCKET: "the connection closed unexpectedly",
};

function errnoOf(err: unknown): { code?: string; message?: string } {
  if (typeof err !== "object" || err === null) return {};
  const e = err as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof e.code === "string") return { code: e.code, message: String(e.message ?? "") };
  // Happy-eyeballs connects to several addresses and reports an AggregateError of them.
  if (Array.isArray(e.errors) && e.errors.length > 0) return errnoOf(e.errors[0]);
  return typeof e.message === "string" ? { message: e.message } : {};
}

/**
 * Why a request failed before any answer, in words: "connection refused, ECONNREFUSED".
 *
 * @example
 * describeNetworkError(new TypeError("fetch failed", { cause: Object.assign(new Error("x"), { code: "ENOTFOUND" }) }));
 */
export function describeNetworkError(err: unknown): string {
  const cause = err instanceof Error && err.cause !== undefined ? err.cause : err;
  const { code, message } = errnoOf(cause);
  if (code !== undefined) return `${NETWORK_REASONS[code] ?? message ?? "network error"}, ${code}`;
  return message || (err instanceof Error ? err.message : String(err));
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  if (typeof value !== "object" || value === null) return false;
  const error = (value as { error?: unknown }).error;
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as { code?: unknown }).code === "string" &&
    typeof (error as { message?: unknown }).message === "string"
  );
}

/** Talks to one Mixer. Every method resolves with the parsed body or throws a {@link CliError}. */
export class ApiClient {
  readonly #o: ApiClientOptions;

  constructor(opts: ApiClientOptions) {
    this.#o = opts;
  }

  get baseUrl(): string {
    return this.#o.baseUrl;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>({ method: "GET", path, query });
  }

  post<T>(path: string, json?: unknown, query?: Query): Promise<T> {
    return this.request<T>({ method: "POST", path, json, query });
  }

  delete<T>(path: string, json?: unknown): Promise<T> {
    return this.request<T>({ method: "DELETE", path, json });
  }

  async request<T>(req: ApiRequest): Promise<T> {
    const url = this.#url(req);
    const requestId = randomUUID();
    const headers: Record<string, string> = {
      accept: "application/json",
      "user-agent": this.#o.userAgent,
      "x-request-id": requestId,
    };
    if (this.#o.token !== undefined) headers.authorization = `Bearer ${this.#o.token}`;
    const actor = this.#o.actor === undefined ? "" : headerSafeActor(this.#o.actor);
    if (actor) headers["x-fluxrig-actor"] = actor;
    let body: string | undefined;
    if (req.text) {
      headers["content-type"] = req.text.contentType;
      body = req.text.body;
    } else if (req.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(req.json);
    }
    // One deadline for connecting, the answer and reading its body.
    const signal = AbortSignal.timeout(this.#o.timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await this.#o.fetch(url, { method: req.method, headers, body, signal, redirect: "manual" });
      text = await res.text();
    } catch (err) {
      throw this.#networkError(err);
    }
    return this.#answer<T>({ res, text, requestId });
  }

  /**
   * Opens a long-lived `text/event-stream` GET. The timeout covers connecting and the response headers only; the
   * body is read for as long as the stream lasts, until `signal` aborts it. A non-200 answer throws the same
   * {@link CliError} any request would.
   *
   * @example
   * const res = await api.openStream({ path: "/api/v1/events/stream", headers: { "last-event-id": "12" } }, signal);
   */
  async openStream(
    req: { path: string; query?: Query | undefined; headers?: Record<string, string> },
    signal: AbortSignal,
  ): Promise<Response> {
    const url = this.#url({ method: "GET", ...req });
    const requestId = randomUUID();
    const headers: Record<string, string> = {
      accept: "text/event-stream",
      "user-agent": this.#o.userAgent,
      "x-request-id": requestId,
      ...req.headers,
    };
    if (this.#o.token !== undefined) headers.authorization = `Bearer ${this.#o.token}`;
    const abort = new AbortController();
    const onAbort = () => abort.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) onAbort();
    // Like AbortSignal.timeout, but cancelled once the headers are in, so it cannot cut the stream later.
    const timer = setTimeout(
      () => abort.abort(new DOMException("no response headers in time", "TimeoutError")),
      this.#o.timeoutMs,
    );
    let res: Response;
    try {
      res = await this.#o.fetch(url, { method: "GET", headers, signal: abort.signal, redirect: "manual" });
    } catch (err) {
      signal.removeEventListener("abort", onAbort);
      throw this.#networkError(abort.signal.reason instanceof DOMException ? abort.signal.reason : err);
    } finally {
      clearTimeout(timer);
    }
    if (res.status === 200 && res.body !== null) {
      if (!(res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
        await res.body.cancel().catch(() => undefined);
        throw new CliError(
          "bad_response",
          `${this.#o.baseUrl} did not answer with an event stream; is this a fluxrig Mixer new enough for it?`,
          { exitCode: EXIT.unreachable },
        );
      }
      return res;
    }
    signal.removeEventListener("abort", onAbort);
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw this.#networkError(err);
    }
    return this.#answer<never>({ res, text, requestId });
  }

  #url(req: ApiRequest): string {
    const url = new URL(`${this.#o.baseUrl}${req.path}`);
    for (const [k, v] of Object.entries(req.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    return url.toString();
  }

  #networkError(err: unknown): CliError {
    if (isTimeout(err)) {
      return new CliError(
        "timeout",
        `no answer from the Mixer at ${this.#o.baseUrl} within ${formatDuration(this.#o.timeoutMs)}`,
        { exitCode: EXIT.unreachable, cause: err, notes: ["raise it with --timeout or FLUXRIG_API_TIMEOUT"] },
      );
    }
    return new CliError(
      "unreachable",
      `cannot reach the Mixer at ${this.#o.baseUrl}: ${describeNetworkError(err)}`,
      { exitCode: EXIT.unreachable, cause: err },
    );
  }

  #answer<T>(opts: { res: Response; text: string; requestId: string }): T {
    const { res, text } = opts;
    let parsed: unknown;
    let isJson = false;
    try {
      parsed = text === "" ? null : JSON.parse(text);
      isJson = true;
    } catch {
      // Handled below: not JSON means this is probably not a Mixer.
    }
    if (res.status >= 300 && res.status < 400) {
      const to = res.headers.get("location");
      throw new CliError(
        "bad_response",
        `${this.#o.baseUrl} answered ${res.status} redirecting${to ? ` to ${to}` : ""}; point --api-url at the Mixer itself`,
        { exitCode: EXIT.unreachable },
      );
    }
    if (res.ok) {
      if (!isJson || parsed === null) {
        throw new CliError(
          "bad_response",
          `the answer from ${this.#o.baseUrl} is not JSON (HTTP ${res.status}); is this a fluxrig Mixer?`,
          { exitCode: EXIT.unreachable },
        );
      }
      return parsed as T;
    }
    if (!isErrorBody(parsed)) {
      throw new CliError(
        "bad_response",
        `${this.#o.baseUrl} answered HTTP ${res.status} ${res.statusText} without a fluxrig error body; is this a fluxrig Mixer?`,
        { exitCode: EXIT.unreachable },
      );
    }
    const { code, message, details } = parsed.error;
    const notes: string[] = [];
    if (res.status === 401) notes.push(this.#o.tokenHint);
    const requestId = res.headers.get("x-request-id") ?? opts.requestId;
    // The Mixer's own 500 message already names it; say it once.
    if (res.status >= 500 && !message.includes(requestId)) notes.push(`request id ${requestId}`);
    throw new CliError(code, message, {
      exitCode: exitCodeForStatus(res.status, code),
      details,
      notes,
      body: parsed,
    });
  }
}
