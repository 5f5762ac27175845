import { describe, expect, test } from "vitest";
import { ApiClient, type FetchLike } from "./api-client.js";
import type { AuditEvent } from "./api-types.js";
import { CliError } from "./cli-error.js";
import { followEvents } from "./event-follow.js";

function event(seq: number): AuditEvent {
  return {
    seq,
    at: "2025-06-01T12:00:00.000Z",
    entity_id: null,
    name: `rack-${seq}`,
    kind: "rack_enrolled",
    from_status: null,
    to_status: "pending",
    cause: "enrollment",
    actor: "rack",
    details: null,
    prev_hash: "0",
    hash: "1",
  };
}

const message = (seq: number) => `id: ${seq}\nevent: audit\ndata: ${JSON.stringify(event(seq))}\n\n`;

/** A stream that sends `chunks`, then ends (or stays open while `hang`). */
function sse(chunks: string[], opts: { hang?: boolean } = {}): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
      if (!opts.hang) controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
}

const errorBody = (status: number, code: string) =>
  new Response(JSON.stringify({ error: { code, message: `said ${code}` } }), {
    status,
    headers: { "content-type": "application/json" },
  });

/** A fetch that answers each connection from `script` in turn and records the Last-Event-ID it was sent. */
function scripted(script: Array<() => Response | Promise<Response>>) {
  const sent: Array<string | null> = [];
  const fetch: FetchLike = async (_url, init) => {
    sent.push(new Headers(init.headers).get("last-event-id"));
    const next = script.shift();
    if (next === undefined) {
      // No more scripted connections: wait until the follow is aborted.
      return new Promise((_, reject) =>
        init.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))),
      );
    }
    return next();
  };
  return { fetch, sent };
}

function client(fetch: FetchLike): ApiClient {
  return new ApiClient({
    baseUrl: "http://mixer.test:8090",
    token: "t",
    timeoutMs: 1_000,
    fetch,
    userAgent: "test",
    tokenHint: "check the token",
  });
}

async function run(fetch: FetchLike, until: (seqs: number[]) => boolean, extra = {}) {
  const seqs: number[] = [];
  const notices: string[] = [];
  const abort = new AbortController();
  let opened = 0;
  await followEvents({
    api: client(fetch),
    query: { after: "0" },
    signal: abort.signal,
    backoffMs: 1,
    onOpen: () => {
      opened += 1;
    },
    onEvent: (e) => {
      seqs.push(e.seq);
      if (until(seqs)) abort.abort();
    },
    onNotice: (t) => notices.push(t),
    ...extra,
  });
  return { seqs, notices, opened };
}

describe("followEvents", () => {
  test("resumes after a dropped connection and a refused reconnect with the last id, once opened", async () => {
    const { fetch, sent } = scripted([
      () => sse(["id: 0\n\n", message(1), message(2)]),
      () => {
        throw new TypeError("fetch failed", {
          cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }),
        });
      },
      () => errorBody(503, "unavailable"),
      () => sse(["id: 2\n\n", message(3)]),
    ]);
    const out = await run(fetch, (s) => s.length === 3);
    expect(out.seqs).toEqual([1, 2, 3]);
    expect(sent).toEqual([null, "2", "2", "2"]);
    expect(out.opened).toBe(1);
    expect(out.notices).toEqual([
      "event stream lost (the Mixer closed the stream); reconnecting after seq 2",
      "event stream: reconnected, resuming after seq 2",
    ]);
  });

  test("the opening cursor counts: a drop before any event resumes from it", async () => {
    const { fetch, sent } = scripted([() => sse(["id: 41\n\n"]), () => sse([message(42)])]);
    expect((await run(fetch, (s) => s.length === 1)).seqs).toEqual([42]);
    expect(sent).toEqual([null, "41"]);
  });

  test("a refusal (unknown Rack, bad token) is thrown, not retried", async () => {
    for (const [status, code, exit] of [
      [404, "not_found", 1],
      [401, "unauthorized", 4],
    ] as const) {
      const { fetch, sent } = scripted([() => errorBody(status, code)]);
      const failure = run(fetch, () => false);
      await expect(failure).rejects.toBeInstanceOf(CliError);
      await expect(failure).rejects.toMatchObject({ code, exitCode: exit });
      expect(sent).toHaveLength(1);
    }
  });

  test("a silent connection is reopened after the idle limit", async () => {
    const { fetch, sent } = scripted([() => sse(["id: 5\n\n"], { hang: true }), () => sse([message(6)])]);
    const out = await run(fetch, (s) => s.length === 1, { idleMs: 20 });
    expect(out.seqs).toEqual([6]);
    expect(sent).toEqual([null, "5"]);
    expect(out.notices[0]).toBe(
      "event stream lost (no data, not even a keep-alive); reconnecting after seq 5",
    );
  });

  test("an event that is not JSON ends the follow (a reconnect would repeat it)", async () => {
    const { fetch, sent } = scripted([() => sse(["id: 1\nevent: audit\ndata: {oops\n\n"])]);
    await expect(run(fetch, () => false)).rejects.toMatchObject({ code: "bad_response", exitCode: 1 });
    expect(sent).toHaveLength(1);
  });

  test("an abort while waiting to reconnect resolves at once", async () => {
    const abort = new AbortController();
    const notices: string[] = [];
    const { fetch } = scripted([() => errorBody(503, "unavailable")]);
    const done = followEvents({
      api: client(fetch),
      query: {},
      signal: abort.signal,
      backoffMs: 60_000,
      onEvent: () => {},
      onNotice: (t) => {
        notices.push(t);
        abort.abort();
      },
    });
    await expect(done).resolves.toBeUndefined();
    expect(notices).toHaveLength(1);
  });
});
