// Following the Mixer's audit log over GET /api/v1/events/stream: parse the stream, hand out each event, and after a
// dropped connection reconnect with Last-Event-ID (capped backoff, one line on stderr) so nothing is missed.
import type { ApiClient, Query } from "./api-client.js";
import type { AuditEvent } from "./api-types.js";
import { CliError } from "./cli-error.js";
import { EXIT } from "./exit-codes.js";
import { SseParser } from "./sse.js";

export const EVENT_STREAM_PATH = "/api/v1/events/stream";

export interface FollowOptions {
  api: ApiClient;
  /** `rack`, `since`, `after`: the stream's filters and its first cursor. */
  query: Query;
  /** Each audit event, in seq order; awaited before the next is read. */
  onEvent: (event: AuditEvent) => void | Promise<void>;
  /** Once, when the first connection is open (before any event of it is handed out); awaited. */
  onOpen?: () => void | Promise<void>;
  /** A one-line remark for stderr (connection lost, reconnected). */
  onNotice: (text: string) => void;
  /** Ends the follow (Ctrl-C); the promise then resolves. */
  signal: AbortSignal;
  /** First wait before a reconnect (default 250 ms), doubled per failure up to `maxBackoffMs` (default 10 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /**
   * A connection that brings nothing, not even the Mixer's keep-alive comment (every 15 s), for this long is
   * taken as dead and reopened (default 45 s): a Mixer host that vanished sends no FIN.
   */
  idleMs?: number;
}

/** Why a connection ended, for the notice. */
class StreamEnded extends Error {}

/** A failure of our own handling (printing, a malformed event): reconnecting would only repeat it. */
class HandlerFailed {
  constructor(readonly cause: unknown) {}
}

async function handle(fn: () => void | Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    throw new HandlerFailed(err);
  }
}

function parseEvent(data: string): AuditEvent {
  try {
    return JSON.parse(data) as AuditEvent;
  } catch {
    // Not worth a reconnect: the same event would come again.
    throw new HandlerFailed(
      new CliError("bad_response", `the event stream sent an event that is not JSON: ${data.slice(0, 80)}`, {
        exitCode: EXIT.refused,
      }),
    );
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Worth reconnecting after: the Mixer could not be reached or is briefly unavailable. Not: a refusal, a bad token. */
function retryable(err: unknown): boolean {
  return !(err instanceof CliError) || err.exitCode === EXIT.unreachable;
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Follows the audit log until `signal` aborts (resolves) or the Mixer refuses the request itself (throws its
 * CliError: unknown Rack, bad token). Network failures, a stopped Mixer and 503s are retried for ever, each resumed
 * from the last event id received.
 *
 * @example
 * await followEvents({ api, query: { rack: "rack-1" }, onEvent: print, onNotice: (t) => out.note(t), signal });
 */
export async function followEvents(opts: FollowOptions): Promise<void> {
  const { signal } = opts;
  const firstBackoff = opts.backoffMs ?? 250;
  const maxBackoff = opts.maxBackoffMs ?? 10_000;
  const idleMs = opts.idleMs ?? 45_000;
  let lastEventId: string | undefined;
  let opened = false;
  let backoff = firstBackoff;
  let down: string | undefined;
  while (!signal.aborted) {
    const connection = new AbortController();
    const onAbort = () => connection.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    let received = false;
    try {
      const res = await opts.api.openStream(
        {
          path: EVENT_STREAM_PATH,
          query: opts.query,
          ...(lastEventId === undefined ? {} : { headers: { "last-event-id": lastEventId } }),
        },
        connection.signal,
      );
      if (down !== undefined)
        opts.onNotice(`event stream: reconnected, resuming after seq ${lastEventId ?? "-"}`);
      down = undefined;
      if (!opened) {
        opened = true;
        await handle(async () => opts.onOpen?.());
      }
      const parser = new SseParser();
      const decoder = new TextDecoder();
      const reader = res.body!.getReader();
      // Whatever ends the connection (Ctrl-C, the idle watchdog) also ends a read waiting on it.
      const cancel = () => void reader.cancel().catch(() => undefined);
      connection.signal.addEventListener("abort", cancel, { once: true });
      let idle: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(idle);
        idle = setTimeout(() => connection.abort(new StreamEnded("no data, not even a keep-alive")), idleMs);
      };
      try {
        arm();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) throw new StreamEnded("the Mixer closed the stream");
          arm();
          for (const message of parser.push(decoder.decode(value, { stream: true }))) {
            if (message.event === "audit") {
              const event = parseEvent(message.data);
              await handle(() => opts.onEvent(event));
            }
            // Only once the event is handed out does its id count as received.
            lastEventId = message.id;
          }
          if (parser.lastEventId !== "") {
            // The stream's opening cursor (an id with no data) counts too.
            lastEventId = parser.lastEventId;
            received = true;
          }
        }
      } finally {
        clearTimeout(idle);
        connection.signal.removeEventListener("abort", cancel);
        await reader.cancel().catch(() => undefined);
      }
    } catch (err) {
      if (err instanceof HandlerFailed) throw err.cause;
      if (signal.aborted) break;
      const cause = connection.signal.reason instanceof StreamEnded ? connection.signal.reason : err;
      if (!retryable(cause)) throw cause;
      // A connection that worked starts the backoff over; one that keeps failing waits longer each time.
      if (received) backoff = firstBackoff;
      if (down === undefined) {
        const from = lastEventId === undefined ? "" : ` after seq ${lastEventId}`;
        opts.onNotice(`event stream lost (${reasonOf(cause)}); reconnecting${from}`);
        down = reasonOf(cause);
      }
      await sleep(backoff, signal);
      backoff = Math.min(maxBackoff, backoff * 2);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
}
