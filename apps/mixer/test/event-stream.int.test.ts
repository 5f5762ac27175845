// GET /api/v1/events/stream against a real Mixer: backlog then live events in order, resume with Last-Event-ID
// after a drop (events written meanwhile), filters, the stream limit, and a prompt stop with streams open.

import { MixerHarness, ScriptedRack, TEST_TOKEN, waitFor } from "@fluxrig/testkit";
import type { AuditEventView } from "@fluxrig/wire";
import { afterEach, expect, test } from "vitest";

interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
}

/** A stream under test: its messages as they arrive (a minimal reader; the CLI has the full parser). */
class StreamReader {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  ended = false;
  readonly #abort = new AbortController();
  #done: Promise<void> = Promise.resolve();

  static async open(url: string, headers: Record<string, string> = {}): Promise<StreamReader> {
    const reader = new StreamReader();
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${TEST_TOKEN}`, ...headers },
      signal: reader.#abort.signal,
    });
    if (res.status !== 200) throw new Error(`stream answered ${res.status}: ${await res.text()}`);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    reader.#done = reader.#read(res.body!);
    return reader;
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const message: SseMessage = { id: undefined, event: "message", data: "" };
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) this.comments.push(line);
            else if (line.startsWith("id: ")) message.id = line.slice(4);
            else if (line.startsWith("event: ")) message.event = line.slice(7);
            else if (line.startsWith("data: ")) message.data += line.slice(6);
          }
          if (message.id !== undefined || message.data !== "") this.messages.push(message);
        }
      }
    } catch {
      // Aborted by the test.
    }
    this.ended = true;
  }

  /** The audit events received so far. */
  get events(): AuditEventView[] {
    return this.messages.filter((m) => m.event === "audit").map((m) => JSON.parse(m.data) as AuditEventView);
  }

  /** The last id received (the cursor message counts). */
  get lastId(): string | undefined {
    return this.messages.at(-1)?.id;
  }

  async waitForSeq(seq: number, what: string): Promise<void> {
    await waitFor(() => this.events.some((e) => e.seq >= seq), { timeoutMs: 10_000, message: what });
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#done;
  }
}

const open: StreamReader[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

async function stream(h: MixerHarness, query = "", headers: Record<string, string> = {}) {
  const s = await StreamReader.open(`${h.apiUrl}/api/v1/events/stream${query}`, headers);
  open.push(s);
  return s;
}

async function allEvents(h: MixerHarness, query = ""): Promise<AuditEventView[]> {
  const res = await h.api<{ items: AuditEventView[] }>(`/api/v1/events?limit=1000${query}`);
  expect(res.status).toBe(200);
  return res.body.items;
}

async function enroll(h: MixerHarness, name: string): Promise<ScriptedRack> {
  const rack = new ScriptedRack(await h.client(), name).listen();
  expect((await rack.hello()).status).toBe("pending");
  return rack;
}

const seqs = (events: AuditEventView[]) => events.map((e) => e.seq);

test("backlog then live events, in seq order, each exactly as GET /api/v1/events gives it", async () => {
  await using h = await MixerHarness.create();
  await enroll(h, "rack-a");
  const before = await allEvents(h);
  expect(before.length).toBeGreaterThan(0);

  const s = await stream(h, "?after=0");
  await s.waitForSeq(before.at(-1)!.seq, "the backlog");
  expect(s.messages[0]).toEqual({ id: "0", event: "message", data: "" });

  await enroll(h, "rack-b");
  expect((await h.api("/api/v1/racks/rack-a/adopt", { method: "POST" })).status).toBe(200);
  const after = await allEvents(h);
  await s.waitForSeq(after.at(-1)!.seq, "the live events");
  expect(s.events).toEqual(after);
  expect(s.messages.slice(1).map((m) => m.id)).toEqual(after.map((e) => String(e.seq)));

  // Without a cursor a stream starts now: its first message names the head, and only later events follow.
  const fromNow = await stream(h);
  await waitFor(() => fromNow.messages.length > 0, { timeoutMs: 10_000, message: "the cursor message" });
  expect(fromNow.messages[0]?.id).toBe(String(after.at(-1)!.seq));
  expect((await h.api("/api/v1/racks/rack-b/reject", { method: "POST" })).status).toBe(200);
  const last = (await allEvents(h)).at(-1)!;
  await fromNow.waitForSeq(last.seq, "the reject");
  // The reject and, in the same commit, the revocation of its bus key (SPEC §11).
  expect(fromNow.events.map((e) => [e.name, e.kind, e.to_status])).toEqual([
    ["rack-b", "status_changed", "rejected"],
    ["rack-b", "bus_key_revoked", null],
  ]);
});

test("a client that drops and resumes with Last-Event-ID misses nothing and repeats nothing", async () => {
  await using h = await MixerHarness.create();
  const s1 = await stream(h, "?after=0");
  await enroll(h, "rack-a");
  const first = await allEvents(h);
  await s1.waitForSeq(first.at(-1)!.seq, "rack-a's enrollment");
  const lastId = s1.lastId!;
  await s1.close();

  // Written while no one listens.
  await enroll(h, "rack-b");
  await enroll(h, "rack-c");
  expect((await h.api("/api/v1/racks/rack-b/adopt", { method: "POST" })).status).toBe(200);

  // Last-Event-ID wins over `after`.
  const s2 = await stream(h, "?after=0", { "Last-Event-ID": lastId });
  expect((await h.api("/api/v1/racks/rack-c/adopt", { method: "POST" })).status).toBe(200);
  const all = await allEvents(h);
  await s2.waitForSeq(all.at(-1)!.seq, "every event up to the adopt of rack-c");
  const got = [...s1.events, ...s2.events];
  expect(seqs(got)).toEqual(seqs(all));
  expect(s2.messages[0]?.id).toBe(lastId);

  const bad = await fetch(`${h.apiUrl}/api/v1/events/stream`, {
    headers: { authorization: `Bearer ${TEST_TOKEN}`, "last-event-id": "twelve" },
  });
  expect(bad.status).toBe(400);
  expect(await bad.json()).toMatchObject({ error: { code: "malformed" } });
});

test("filters: rack and since, on the backlog and on live events; an unknown Rack is 404 before the stream", async () => {
  await using h = await MixerHarness.create();
  await enroll(h, "rack-a");
  await enroll(h, "rack-b");
  const onlyA = await stream(h, "?rack=rack-a&after=0");
  const future = new Date(Date.now() + 60 * 60_000).toISOString();
  const sinceFuture = await stream(h, `?since=${encodeURIComponent(future)}`);
  const sincePast = await stream(h, `?since=${encodeURIComponent(new Date(0).toISOString())}`);

  expect((await h.api("/api/v1/racks/rack-b/adopt", { method: "POST" })).status).toBe(200);
  expect((await h.api("/api/v1/racks/rack-a/adopt", { method: "POST" })).status).toBe(200);
  const all = await allEvents(h);
  const ofA = await allEvents(h, "&rack=rack-a");
  await onlyA.waitForSeq(ofA.at(-1)!.seq, "rack-a's adopt");
  await sincePast.waitForSeq(all.at(-1)!.seq, "everything since 1970");
  expect(onlyA.events).toEqual(ofA);
  expect(new Set(onlyA.events.map((e) => e.name))).toEqual(new Set(["rack-a"]));
  expect(seqs(sincePast.events)).toEqual(seqs(all));
  expect(sinceFuture.events).toEqual([]);
  expect(sinceFuture.messages.map((m) => m.id)).toEqual(["0"]);

  const unknown = await fetch(`${h.apiUrl}/api/v1/events/stream?rack=rack-zz`, {
    headers: { authorization: `Bearer ${TEST_TOKEN}` },
  });
  expect(unknown.status).toBe(404);
  expect(await unknown.json()).toMatchObject({ error: { code: "not_found" } });
  const anonymous = await fetch(`${h.apiUrl}/api/v1/events/stream`);
  expect(anonymous.status).toBe(401);
});

test("the 65th stream is refused 503 with the JSON error; a closed one frees its place", async () => {
  await using h = await MixerHarness.create();
  const streams = await Promise.all(Array.from({ length: 64 }, () => stream(h)));
  const refused = await fetch(`${h.apiUrl}/api/v1/events/stream`, {
    headers: { authorization: `Bearer ${TEST_TOKEN}` },
  });
  expect(refused.status).toBe(503);
  expect(await refused.json()).toMatchObject({ error: { code: "unavailable", details: { limit: 64 } } });

  await streams[0]!.close();
  // The Mixer sees the drop when the socket closes; a new stream is taken once it has.
  await waitFor(
    async () => {
      const res = await fetch(`${h.apiUrl}/api/v1/events/stream`, {
        headers: { authorization: `Bearer ${TEST_TOKEN}` },
        signal: AbortSignal.timeout(5_000),
      });
      if (res.status === 200) {
        await res.body?.cancel();
        return true;
      }
      await res.text();
      return false;
    },
    { timeoutMs: 10_000, message: "a stream accepted after one closed" },
  );
});

test("the Mixer stops promptly with streams open, ending them cleanly", async () => {
  await using h = await MixerHarness.create();
  await enroll(h, "rack-a");
  const s = await Promise.all([stream(h), stream(h, "?after=0"), stream(h, "?rack=rack-a&after=0")]);
  await waitFor(() => s.every((x) => x.messages.length > 0), { timeoutMs: 10_000, message: "streams open" });
  const mixer = h.mixer!;
  const exit = await h.stop();
  expect(exit.code).toBe(0);
  // Ended by the Mixer, not cut after the server's grace period for stuck requests (which logs this line).
  expect(mixer.lines().filter((l) => l.includes("still running after the grace period"))).toEqual([]);
  expect(mixer.lines().some((l) => l.includes('"msg":"stopped"'))).toBe(true);
  await waitFor(() => s.every((x) => x.ended), { timeoutMs: 5_000, message: "streams ended by the Mixer" });
});
