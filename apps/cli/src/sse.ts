// A Server-Sent Events parser (the event-stream format of the HTML standard, section 9.2.6), fed text as it arrives.

/** One dispatched message. `id` is the stream's last event id at that point (it persists across messages). */
export interface SseMessage {
  /** The `event:` field, "message" when absent. */
  event: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  /** The last event id: set by the newest `id:` field so far, in this message or an earlier one. */
  id: string;
}

/**
 * Turns chunks of an event stream into messages. Lines may end in LF, CRLF or CR, and may be split anywhere between
 * chunks (a CR at the end of one chunk and the LF that starts the next are one line end). A message with no data is
 * not dispatched, but its `id:` still moves {@link lastEventId} (the Mixer opens each stream with one, its cursor).
 * Comments (`:` lines) are counted, not returned. An unfinished message at the end of the stream is dropped, as the
 * standard says.
 *
 * @example
 * const parser = new SseParser();
 * parser.push("id: 7\nevent: audit\ndata: {}\n\n"); // [{ event: "audit", data: "{}", id: "7" }]
 */
export class SseParser {
  /** The id a reconnecting client sends as `Last-Event-ID`; "" until one arrives. */
  lastEventId = "";
  /** The last `retry:` the server asked for, in ms. */
  retryMs: number | undefined;
  /** Comment lines seen (keep-alives). */
  comments = 0;
  #buffer = "";
  #skipLf = false;
  #first = true;
  #data: string[] = [];
  #event = "";
  #idBuffer: string | undefined;

  /** Feeds text; returns the messages it completes. */
  push(chunk: string): SseMessage[] {
    let text = chunk;
    if (this.#first && text.length > 0) {
      this.#first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.#skipLf && text.startsWith("\n")) text = text.slice(1);
    this.#skipLf = false;
    const out: SseMessage[] = [];
    let buffer = this.#buffer + text;
    for (;;) {
      const end = buffer.search(/[\r\n]/);
      if (end < 0) break;
      const line = buffer.slice(0, end);
      let next = end + 1;
      if (buffer[end] === "\r") {
        if (end + 1 < buffer.length) {
          if (buffer[end + 1] === "\n") next = end + 2;
        } else {
          // A CR last in the chunk: an LF first in the next one belongs to it.
          this.#skipLf = true;
        }
      }
      buffer = buffer.slice(next);
      const message = this.#line(line);
      if (message !== undefined) out.push(message);
    }
    this.#buffer = buffer;
    return out;
  }

  #line(line: string): SseMessage | undefined {
    if (line === "") return this.#dispatch();
    if (line.startsWith(":")) {
      this.comments += 1;
      return undefined;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.#event = value;
        break;
      case "data":
        this.#data.push(value);
        break;
      case "id":
        // An id with a NUL is ignored, as the standard says.
        if (!value.includes("\u0000")) this.#idBuffer = value;
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
      // Unknown fields are ignored.
    }
    return undefined;
  }

  #dispatch(): SseMessage | undefined {
    if (this.#idBuffer !== undefined) this.lastEventId = this.#idBuffer;
    this.#idBuffer = undefined;
    const data = this.#data;
    const event = this.#event;
    this.#data = [];
    this.#event = "";
    if (data.length === 0) return undefined;
    return { event: event === "" ? "message" : event, data: data.join("\n"), id: this.lastEventId };
  }
}
