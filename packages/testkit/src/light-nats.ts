// A light NATS client for load generators: one raw TCP socket per connection, no reconnect logic, no async traces, so
// 10,000 simulated Racks can each be on the bus as themselves. INFO -> CONNECT (JWT, nkey, nonce signature) -> PING;
// PUB/HPUB, SUB/UNSUB, MSG/HMSG, PING/PONG; every -ERR is reported. Not for tests of behaviour: use nats.js there.
import { randomBytes } from "node:crypto";
import { type Socket, connect as tcpConnect } from "node:net";
import { TestkitError } from "./errors.js";

/** What a nonce authenticator returns (`nonceAuthenticator` of @fluxrig/passport, or nats.js's `jwtAuthenticator`). */
export interface LightAuth {
  jwt: string;
  nkey: string;
  sig?: string;
}

/** A message as it arrived: `headers` is the raw header block (`NATS/1.0\r\nKey: v\r\n\r\n`) of an HMSG. */
export interface LightMsg {
  subject: string;
  sid: number;
  reply: string | undefined;
  headers: string | undefined;
  data: Buffer;
}

export interface LightNatsOptions {
  host: string;
  port: number;
  name?: string;
  /** Called with the server's nonce; absent: an anonymous CONNECT (open bus). */
  auth?: (nonce?: string) => LightAuth;
  /** Prefix of reply subjects for {@link LightNats.request} (default `_INBOX`); a Rack passes `_INBOX.<name>`. */
  inboxPrefix?: string;
  /** Every `-ERR` line's text, e.g. `Permissions Violation for Publish to "x"`. */
  onError?: (text: string) => void;
  /** Called once when the socket closes, with the last -ERR or socket error if any. */
  onClose?: (why: string | undefined) => void;
  /** Connect and handshake deadline (default 10 000 ms). */
  timeoutMs?: number;
}

/** The handshake was refused (e.g. `Authorization Violation`) or timed out. */
export class LightNatsConnectError extends TestkitError {
  override readonly name = "LightNatsConnectError";
}

const CRLF = "\r\n";
const CRLF_BYTES = Buffer.from(CRLF);

/**
 * One connection. Not reconnecting: a load generator decides itself when and how to connect again.
 *
 * @example
 * const nc = await LightNats.connect({ host, port, auth: nonceAuthenticator({ privateKey, jwt: () => jwt }) });
 * nc.publish(heartbeatSubject(name), bytes);
 */
export class LightNats {
  readonly #socket: Socket;
  readonly #opts: LightNatsOptions;
  readonly #subs = new Map<number, (msg: LightMsg) => void>();
  readonly #pongs: Array<() => void> = [];
  readonly #requests = new Map<string, { resolve: (m: LightMsg) => void; timer: NodeJS.Timeout }>();
  #buffer: Buffer = Buffer.alloc(0);
  #nextSid = 1;
  #inboxSid: number | undefined;
  readonly #inboxBase: string;
  #nextRequest = 0;
  #closed = false;
  #lastError: string | undefined;
  /** Every -ERR text, in order (bounded to the last 100). */
  readonly errors: string[] = [];
  /** The server's INFO (the latest one). */
  info: Record<string, unknown> = {};

  private constructor(socket: Socket, opts: LightNatsOptions) {
    this.#socket = socket;
    this.#opts = opts;
    this.#inboxBase = `${opts.inboxPrefix ?? "_INBOX"}.${randomBytes(9).toString("base64url").replace(/[-_]/g, "x")}`;
  }

  /** Connects, authenticates and waits for the server's PONG to the first PING; rejects on -ERR or timeout. */
  static connect(opts: LightNatsOptions): Promise<LightNats> {
    return new Promise((resolve, reject) => {
      const socket = tcpConnect({ host: opts.host, port: opts.port });
      socket.setNoDelay(true);
      const nc = new LightNats(socket, opts);
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(new LightNatsConnectError(`${opts.host}:${opts.port}: ${why}`));
      };
      const timer = setTimeout(() => fail("no handshake within the deadline"), opts.timeoutMs ?? 10_000);
      let greeted = false;
      nc.#onInfo = (info) => {
        if (greeted) return;
        greeted = true;
        const nonce = typeof info.nonce === "string" ? info.nonce : undefined;
        const auth = opts.auth?.(nonce);
        const connectBody = {
          verbose: false,
          pedantic: false,
          headers: true,
          no_responders: true,
          protocol: 1,
          lang: "fluxrig-light",
          version: "1",
          ...(opts.name === undefined ? {} : { name: opts.name }),
          ...(auth === undefined ? {} : auth),
        };
        socket.write(`CONNECT ${JSON.stringify(connectBody)}${CRLF}PING${CRLF}`);
        nc.#pongs.push(() => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          nc.#onHandshakeError = undefined;
          resolve(nc);
        });
      };
      nc.#onHandshakeError = (text) => fail(`-ERR '${text}'`);
      socket.on("data", (chunk: Buffer) => nc.#read(chunk));
      socket.on("error", (error) => {
        nc.#lastError ??= error.message;
        fail(error.message);
      });
      socket.on("close", () => {
        nc.#closed = true;
        fail(nc.#lastError ?? "closed during the handshake");
        for (const { timer: t } of nc.#requests.values()) clearTimeout(t);
        nc.#requests.clear();
        opts.onClose?.(nc.#lastError);
      });
    });
  }

  #onInfo: (info: Record<string, unknown>) => void = () => {};
  #onHandshakeError: ((text: string) => void) | undefined;

  get closed(): boolean {
    return this.#closed;
  }

  /** PUB, or HPUB when `headers` (a map, or a ready header block) is given. */
  publish(
    subject: string,
    data: Uint8Array | string,
    opts: { reply?: string; headers?: Record<string, string> | string } = {},
  ): void {
    if (this.#closed) return;
    const payload = typeof data === "string" ? Buffer.from(data) : data;
    const reply = opts.reply === undefined ? "" : ` ${opts.reply}`;
    let head: string;
    if (opts.headers === undefined) {
      head = `PUB ${subject}${reply} ${payload.length}${CRLF}`;
    } else {
      const block = typeof opts.headers === "string" ? opts.headers : headerBlock(opts.headers);
      const headerBytes = Buffer.byteLength(block);
      head = `HPUB ${subject}${reply} ${headerBytes} ${headerBytes + payload.length}${CRLF}${block}`;
    }
    // One write (one syscall) per message: 10,000 connections each sending one heartbeat a second.
    this.#socket.write(Buffer.concat([Buffer.from(head), payload, CRLF_BYTES]));
  }

  /** SUB; returns the sid for {@link unsubscribe}. */
  subscribe(subject: string, onMsg: (msg: LightMsg) => void, queue?: string): number {
    const sid = this.#nextSid++;
    this.#subs.set(sid, onMsg);
    this.#socket.write(`SUB ${subject}${queue === undefined ? "" : ` ${queue}`} ${sid}${CRLF}`);
    return sid;
  }

  unsubscribe(sid: number): void {
    this.#subs.delete(sid);
    if (!this.#closed) this.#socket.write(`UNSUB ${sid}${CRLF}`);
  }

  /**
   * Publishes with a reply subject under the inbox prefix and resolves with the first answer. One inbox
   * subscription (`<prefix>.<random>.*`) serves every request of this connection.
   */
  request(subject: string, data: Uint8Array | string, opts: { timeoutMs?: number } = {}): Promise<LightMsg> {
    if (this.#inboxSid === undefined) {
      this.#inboxSid = this.subscribe(`${this.#inboxBase}.*`, (msg) => {
        const waiting = this.#requests.get(msg.subject);
        if (waiting === undefined) return;
        this.#requests.delete(msg.subject);
        clearTimeout(waiting.timer);
        waiting.resolve(msg);
      });
    }
    const reply = `${this.#inboxBase}.${this.#nextRequest++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#requests.delete(reply);
        reject(new TestkitError(`request on ${subject}: no reply within ${opts.timeoutMs ?? 10_000} ms`));
      }, opts.timeoutMs ?? 10_000);
      this.#requests.set(reply, { resolve, timer });
      this.publish(subject, data, { reply });
    });
  }

  /** PING and wait for the PONG: everything written before has been processed by the server. */
  flush(timeoutMs = 10_000): Promise<void> {
    if (this.#closed) return Promise.reject(new TestkitError("connection closed"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new TestkitError(`no PONG within ${timeoutMs} ms`)), timeoutMs);
      this.#pongs.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.#socket.write(`PING${CRLF}`);
    });
  }

  /** Closes the socket; resolves once it is closed. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#socket.once("close", () => resolve());
      this.#socket.end();
      // A server that does not close its side promptly: destroy after a moment.
      setTimeout(() => this.#socket.destroy(), 1_000).unref();
    });
  }

  #read(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    let at = 0;
    const buf = this.#buffer;
    for (;;) {
      const eol = buf.indexOf(CRLF, at);
      if (eol < 0) break;
      const line = buf.toString("latin1", at, eol);
      if (line.startsWith("MSG ") || line.startsWith("HMSG ")) {
        const consumed = this.#message(line, buf, eol + 2);
        if (consumed < 0) break;
        at = consumed;
        continue;
      }
      at = eol + 2;
      this.#control(line);
    }
    this.#buffer = at >= buf.length ? Buffer.alloc(0) : buf.subarray(at);
  }

  /** Parses MSG/HMSG at `start` (after its line); returns where the next line begins, or -1 when incomplete. */
  #message(line: string, buf: Buffer, start: number): number {
    const parts = line.split(" ");
    const isH = parts[0] === "HMSG";
    const subject = parts[1] ?? "";
    const sid = Number(parts[2]);
    const hasReply = parts.length === (isH ? 6 : 5);
    const reply = hasReply ? parts[3] : undefined;
    const total = Number(parts[parts.length - 1]);
    const headerLen = isH ? Number(parts[parts.length - 2]) : 0;
    if (buf.length < start + total + 2) return -1;
    const headers = isH ? buf.toString("latin1", start, start + headerLen) : undefined;
    const data = Buffer.from(buf.subarray(start + headerLen, start + total));
    this.#subs.get(sid)?.({ subject, sid, reply, headers, data });
    return start + total + 2;
  }

  #control(line: string): void {
    if (line === "PING") {
      this.#socket.write(`PONG${CRLF}`);
    } else if (line === "PONG") {
      this.#pongs.shift()?.();
    } else if (line.startsWith("INFO ")) {
      try {
        this.info = JSON.parse(line.slice(5)) as Record<string, unknown>;
      } catch {
        this.info = {};
      }
      this.#onInfo(this.info);
    } else if (line.startsWith("-ERR")) {
      const text = line.replace(/^-ERR\s*'?/, "").replace(/'\s*$/, "");
      this.#lastError = text;
      this.errors.push(text);
      if (this.errors.length > 100) this.errors.shift();
      this.#onHandshakeError?.(text);
      this.#opts.onError?.(text);
    }
    // +OK: verbose is off, so only after CONNECT of an old server; nothing to do.
  }
}

/** A NATS header block for HPUB. */
export function headerBlock(headers: Record<string, string>): string {
  let block = `NATS/1.0${CRLF}`;
  for (const [key, value] of Object.entries(headers)) block += `${key}: ${value}${CRLF}`;
  return `${block}${CRLF}`;
}

/** One header's value from a raw HMSG header block, or undefined. */
export function headerValue(block: string | undefined, name: string): string | undefined {
  if (block === undefined) return undefined;
  const lower = name.toLowerCase();
  for (const line of block.split(CRLF).slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === lower) return line.slice(colon + 1).trim();
  }
  return undefined;
}
