import { createServer, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { headerBlock, headerValue, type LightMsg, LightNats } from "./light-nats.js";
import { waitFor } from "./wait-for.js";

/** A scripted server: greets with INFO (nonce "n0nce"), answers the first PING, hands the test the socket. */
async function scriptedServer(): Promise<{
  port: number;
  client: Promise<Socket>;
  lines: string[];
  close(): void;
}> {
  const lines: string[] = [];
  let hand: (s: Socket) => void = () => {};
  const client = new Promise<Socket>((resolve) => {
    hand = resolve;
  });
  const server = createServer((socket) => {
    socket.write('INFO {"server_id":"x","nonce":"n0nce","headers":true}\r\n');
    let text = "";
    socket.on("data", (chunk) => {
      text += chunk.toString("latin1");
      let eol = text.indexOf("\r\n");
      while (eol >= 0) {
        const line = text.slice(0, eol);
        text = text.slice(eol + 2);
        lines.push(line);
        if (line === "PING") socket.write("PONG\r\n");
        eol = text.indexOf("\r\n");
      }
    });
    hand(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return { port, client, lines, close: () => server.close() };
}

describe("LightNats protocol", () => {
  it("signs the nonce in CONNECT, and reads MSG and HMSG split across any chunk boundary", async () => {
    const srv = await scriptedServer();
    const nonces: Array<string | undefined> = [];
    const nc = await LightNats.connect({
      host: "127.0.0.1",
      port: srv.port,
      auth: (nonce) => {
        nonces.push(nonce);
        return { jwt: "J", nkey: "U", sig: "S" };
      },
    });
    try {
      expect(nonces).toEqual(["n0nce"]);
      const connectLine = srv.lines.find((l) => l.startsWith("CONNECT "));
      expect(JSON.parse(connectLine!.slice(8))).toMatchObject({
        jwt: "J",
        nkey: "U",
        sig: "S",
        verbose: false,
        pedantic: false,
        headers: true,
      });
      const got: LightMsg[] = [];
      const sid = nc.subscribe("a.>", (m) => got.push(m));
      const socket = await srv.client;
      const hdr = headerBlock({ "Fluxrig-Sig": "k s" });
      const wire = Buffer.from(
        `MSG a.b ${sid} 5\r\nhello\r\nPING\r\nHMSG a.c ${sid} r.1 ${hdr.length} ${hdr.length + 3}\r\n${hdr}abc\r\n`,
      );
      // One byte at a time: the worst split a TCP stream can give.
      for (const byte of wire) socket.write(Buffer.from([byte]));
      await waitFor(() => got.length === 2, { message: "both messages", timeoutMs: 5_000 });
      expect(got.map((m) => [m.subject, m.reply, m.data.toString()])).toEqual([
        ["a.b", undefined, "hello"],
        ["a.c", "r.1", "abc"],
      ]);
      expect(headerValue(got[1]?.headers, "Fluxrig-Sig")).toBe("k s");
      // The server's PING was answered (the flush below orders it before the PING the flush sends).
      nc.publish("x.y", "hi", { headers: { A: "1" } });
      await nc.flush();
      expect(srv.lines).toContain("PONG");
      expect(srv.lines).toContain(
        `HPUB x.y ${headerBlock({ A: "1" }).length} ${headerBlock({ A: "1" }).length + 2}`,
      );
    } finally {
      await nc.close();
      srv.close();
    }
  });

  it("reports -ERR after the handshake without closing", async () => {
    const srv = await scriptedServer();
    const errors: string[] = [];
    const nc = await LightNats.connect({ host: "127.0.0.1", port: srv.port, onError: (t) => errors.push(t) });
    try {
      (await srv.client).write("-ERR 'Permissions Violation for Publish to \"z\"'\r\n");
      await waitFor(() => errors.length === 1, { message: "the -ERR", timeoutMs: 5_000 });
      expect(errors).toEqual(['Permissions Violation for Publish to "z"']);
      expect(nc.closed).toBe(false);
    } finally {
      await nc.close();
      srv.close();
    }
  });
});
