// A no-op NATS subscriber in its own process: raw protocol over TCP, counts messages, prints the count 5x a second.
//
// Run by noop-probe.ts as `node --import tsx bench/swarm/noop-subscriber.ts <port> <subject>`. It does nothing
// with a message but skip its bytes, so what it receives is the bus's own delivery ceiling on this machine.
// It reconnects (every 100 ms, for as long as it runs) when the server goes away, e.g. during the herd phase.
import { connect, type Socket } from "node:net";

const CRLF = Buffer.from("\r\n");
const REPORT_EVERY_MS = 200;

const port = Number(process.argv[2]);
const subject = process.argv[3] ?? "fluxrig.event.heartbeat.>";
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: noop-subscriber.ts <port> [subject]");
  process.exit(2);
}

let count = 0;
let bytes = 0;
let connections = 0;
let stopping = false;

/** Parses server-to-client protocol: MSG (skipped, counted), PING (answered), anything else ignored. */
class ProtocolReader {
  #buf: Buffer = Buffer.alloc(0);
  /** Payload bytes (plus CRLF) still to skip from the last MSG line. */
  #skip = 0;

  constructor(readonly socket: Socket) {}

  push(chunk: Buffer): void {
    let buf = this.#buf.length > 0 ? Buffer.concat([this.#buf, chunk]) : chunk;
    let at = 0;
    for (;;) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, buf.length - at);
        this.#skip -= n;
        at += n;
        if (this.#skip > 0) break;
        continue;
      }
      const eol = buf.indexOf(CRLF, at);
      if (eol < 0) break;
      // Only the control line becomes a string; payloads are skipped as bytes.
      const op = buf.toString("latin1", at, Math.min(eol, at + 4));
      if (op === "MSG ") {
        const line = buf.toString("latin1", at, eol);
        const size = Number(line.slice(line.lastIndexOf(" ") + 1));
        count++;
        bytes += size;
        this.#skip = size + 2;
      } else if (op === "PING") {
        this.socket.write("PONG\r\n");
      }
      at = eol + 2;
    }
    buf = buf.subarray(at);
    // Keep the unparsed tail (a partial control line) only; a copy so the big chunk can be collected.
    this.#buf = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
  }
}

function open(): void {
  if (stopping) return;
  const socket = connect({ host: "127.0.0.1", port });
  const reader = new ProtocolReader(socket);
  socket.setNoDelay(true);
  socket.on("connect", () => {
    connections++;
    const options = { verbose: false, pedantic: false, name: "swarm-noop", lang: "raw", protocol: 1 };
    socket.write(`CONNECT ${JSON.stringify(options)}\r\nSUB ${subject} 1\r\nPING\r\n`);
  });
  socket.on("data", (chunk: Buffer) => reader.push(chunk));
  socket.on("error", () => undefined);
  socket.on("close", () => {
    if (!stopping) setTimeout(open, 100);
  });
}

const report = setInterval(() => {
  process.stdout.write(`${JSON.stringify({ t: Date.now(), count, bytes, connections })}\n`);
}, REPORT_EVERY_MS);

function stop(): void {
  stopping = true;
  clearInterval(report);
  process.stdout.write(`${JSON.stringify({ t: Date.now(), count, bytes, connections, done: true })}\n`);
  process.exit(0);
}

process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// The parent closing our stdin (or dying) ends us too: never outlive the benchmark.
process.stdin.on("end", stop);
process.stdin.resume();
open();
