// Server-Sent Events read with fetch (EventSource cannot send the bearer header): a pure parser of the stream's
// text, and a follower that reconnects with the last id it received, so it misses nothing and repeats nothing.
import { type Api, errorFrom } from "./api.js";

/** One message of the stream. `data` is null for a message with no data line (the stream's first `id:` line). */
export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string | null;
}

/**
 * Incremental parser of `text/event-stream` (the WHATWG rules the Mixer's stream uses): `field: value` lines, a
 * blank line ends a message, `:` starts a comment, several `data:` lines join with `\n`, CR, LF and CRLF all end lines.
 *
 * @example
 * const p = new SseParser();
 * p.push("id: 3\nevent: audit\ndata: {}\n\n"); // [{ id: "3", event: "audit", data: "{}" }]
 */
export class SseParser {
  #buffer = "";
  #id: string | undefined;
  #event = "";
  #data: string[] | null = null;
  #sawField = false;
  #afterCr = false;

  /** Feeds a chunk; returns the messages it completed. */
  push(chunk: string): SseMessage[] {
    if (chunk === "") return [];
    // A CR that ended the previous chunk ended its line; an LF right after it is the rest of that CRLF.
    this.#buffer += this.#afterCr && chunk.startsWith("\n") ? chunk.slice(1) : chunk;
    this.#afterCr = false;
    const out: SseMessage[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer);
      if (match === null) break;
      const line = this.#buffer.slice(0, match.index);
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
      if (match[0] === "\r" && this.#buffer === "") this.#afterCr = true;
      const message = this.#line(line);
      if (message !== null) out.push(message);
    }
    return out;
  }

  #line(line: string): SseMessage | null {
    if (line === "") {
      if (!this.#sawField) return null;
      const message = { id: this.#id, event: this.#event || "message", data: this.#data?.join("\n") ?? null };
      this.#event = "";
      this.#data = null;
      this.#sawField = false;
      return message;
    }
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") {
      this.#data = this.#data ?? [];
      this.#data.push(value);
    } else if (field === "event") this.#event = value;
    else if (field === "id" && !value.includes("\0")) this.#id = value;
    else return null;
    this.#sawField = true;
    return null;
  }
}

/** One audit event as the API gives it. */
export interface AuditEvent {
  seq: number;
  at: string;
  entity_id: string | null;
  name: string | null;
  kind: string;
  from_status: string | null;
  to_status: string | null;
  cause: string;
  actor: string;
  details: Record<string, unknown> | null;
  prev_hash: string;
  hash: string;
}

export interface StreamHandlers {
  /** The cursor the stream started after: the newest event's seq when it first opens. */
  onCursor?(seq: number): void;
  onEvent(event: AuditEvent): void;
  /** Connected (true) or lost, retrying (false). */
  onState?(live: boolean): void;
  /** The token is refused (401/403): the stream stops for good. */
  onRefused?(): void;
}

/** The reconnect delay after `failures` failed tries in a row: 1 s doubling to 15 s. */
export function retryDelayMs(failures: number): number {
  return Math.min(15_000, 1000 * 2 ** Math.max(0, failures - 1));
}

/**
 * Follows `GET /api/v1/events/stream` until `signal` aborts, reconnecting with `Last-Event-ID` after a drop.
 * Resolves when aborted; stops for good (and resolves) on 401/403 (the token is gone).
 */
export async function followAudit(api: Api, handlers: StreamHandlers, signal: AbortSignal): Promise<void> {
  let lastId: string | undefined;
  let failures = 0;
  while (!signal.aborted) {
    try {
      const headers = api.headers({ Accept: "text/event-stream" });
      if (lastId !== undefined) headers.set("Last-Event-ID", lastId);
      const res = await fetch("/api/v1/events/stream", {
        headers,
        signal,

        credentials: "omit",
      });
      if (res.status === 401 || res.status === 403) {
        handlers.onState?.(false);
        handlers.onRefused?.();
        return;
      }
      if (!res.ok || res.body === null) throw await errorFrom(res);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      const parser = new SseParser();
      let first = true;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const message of parser.push(value)) {
          if (message.id !== undefined) {
            if (first && lastId === undefined) handlers.onCursor?.(Number(message.id));
            lastId = message.id;
          }
          if (first) {
            first = false;
            failures = 0;
            handlers.onState?.(true);
          }
          if (message.event === "audit" && message.data !== null) {
            handlers.onEvent(JSON.parse(message.data) as AuditEvent);
          }
        }
      }
    } catch {
      // A dropped or refused stream: retried below with the last id received.
    }
    if (signal.aborted) return;
    handlers.onState?.(false);
    failures += 1;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, retryDelayMs(failures));
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}
