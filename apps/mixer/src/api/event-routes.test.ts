// The event stream's framing and cursor handling, over a scripted follow (the real one is tested against a Mixer in
// test/event-stream.int.test.ts).

import { waitFor } from "@fluxrig/testkit";
import type { AuditEventView } from "@fluxrig/wire";
import { describe, expect, test } from "vitest";
import { authed, buildTestApi } from "../../test/support/test-api.js";
import type { AuditFollow, AuditOperations, FollowQuery } from "../fleet/operations.js";

function view(seq: number): AuditEventView {
  return {
    seq,
    at: "2025-06-01T12:00:00.000Z",
    entity_id: "1",
    name: "rack-a",
    kind: "status_changed",
    from_status: "pending",
    to_status: "active",
    cause: "operator",
    actor: "api",
    details: { reason: "two\nlines" },
    prev_hash: "0",
    hash: "1",
  };
}

/**
 * An audit service whose follow answers `batches` in turn ([] = nothing within the wait), then ends; with `endless`
 * it never runs out (a big backlog). `end` ends it from the Mixer's side, as a stop does.
 */
function scriptedAudit(batches: AuditEventView[][], opts: { endless?: boolean } = {}) {
  const ended = new AbortController();
  const seen: { queries: FollowQuery[]; waits: number[]; closed: number; end: () => void } = {
    queries: [],
    waits: [],
    closed: 0,
    end: () => ended.abort(),
  };
  let seq = 100;
  const audit: AuditOperations = {
    list: async () => [],
    verify: async () => ({ ok: true, count: 0 }),
    stopFollowing: async () => {},
    follow: async (query): Promise<AuditFollow> => {
      seen.queries.push(query);
      return {
        after: query.afterSeq ?? 7,
        signal: ended.signal,
        next: async (waitMs) => {
          seen.waits.push(waitMs);
          if (ended.signal.aborted) return null;
          if (opts.endless) return Array.from({ length: 100 }, () => view(++seq));
          return batches.shift() ?? null;
        },
        close: () => {
          seen.closed += 1;
        },
      };
    },
  };
  return { audit, seen };
}

describe("GET /api/v1/events/stream", () => {
  test("the cursor first, one message per event with its seq as id, a comment when a wait brings nothing", async () => {
    const { audit, seen } = scriptedAudit([[view(8), view(9)], [], [view(10)]]);
    const { app } = buildTestApi({ audit });
    const res = await app.request("/api/v1/events/stream", authed());
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const text = await res.text();
    const data = (seq: number) => JSON.stringify(view(seq));
    expect(text).toBe(
      `id: 7\n\nevent: audit\ndata: ${data(8)}\nid: 8\n\nevent: audit\ndata: ${data(9)}\nid: 9\n\n` +
        `: keep-alive\n\nevent: audit\ndata: ${data(10)}\nid: 10\n\n`,
    );
    // The JSON stays on one line: a newline inside a value is escaped, not a second data line.
    expect(text.split("\n").filter((l) => l.startsWith("data: "))).toHaveLength(3);
    expect(seen.waits.every((w) => w === 15_000)).toBe(true);
    expect(seen.closed).toBeGreaterThan(0);
  });

  test("Last-Event-ID wins over after; filters are passed on; a bad Last-Event-ID is 400 before any follow", async () => {
    const { audit, seen } = scriptedAudit([]);
    const { app } = buildTestApi({ audit });
    const since = "2025-06-01T00:00:00Z";
    const res = await app.request(
      `/api/v1/events/stream?rack=rack-a&since=${since}&after=3`,
      authed({ headers: { "Last-Event-ID": "12" } }),
    );
    expect(await res.text()).toBe("id: 12\n\n");
    expect(seen.queries).toEqual([{ rack: "rack-a", since: new Date(since), afterSeq: 12 }]);

    const withAfter = await app.request("/api/v1/events/stream?after=3", authed());
    expect(await withAfter.text()).toBe("id: 3\n\n");
    const bad = await app.request(
      "/api/v1/events/stream",
      authed({ headers: { "Last-Event-ID": "3; drop" } }),
    );
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("malformed");
    expect(seen.queries).toHaveLength(2);
  });

  test("a Mixer-side end cuts a stream whose client stops reading, instead of waiting on its writes", async () => {
    const { audit, seen } = scriptedAudit([], { endless: true });
    const { app } = buildTestApi({ audit });
    const res = await app.request("/api/v1/events/stream", authed());
    const reader = res.body!.getReader();
    await reader.read();
    // The client reads no more: the route's writes now wait on it. The Mixer ends the follow; the route lets go
    // without the client reading another byte.
    seen.end();
    await waitFor(() => seen.closed > 0, { timeoutMs: 5_000, message: "the route to close the follow" });
    await reader.cancel();
  });
});
