// Cluster info and the audit log routes: what they answer and how their queries are checked.
import { describe, expect, test } from "vitest";
import { FAKE_CLUSTER } from "../../test/support/fake-fleet.js";
import { authed, buildTestApi, errorOf } from "../../test/support/test-api.js";

describe("GET /api/v1/cluster", () => {
  test("answers the cluster info", async () => {
    const { app } = buildTestApi();
    const res = await app.request("/api/v1/cluster", authed());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(FAKE_CLUSTER);
  });

  test("a synchronous cluster() works as well", async () => {
    const { app } = buildTestApi({ cluster: () => FAKE_CLUSTER });
    expect((await app.request("/api/v1/cluster", authed())).status).toBe(200);
  });
});

describe("GET /api/v1/events", () => {
  test("pages by seq: a full page has a next cursor, a short one ends", async () => {
    const { app, fleet } = buildTestApi();
    const first = (await (await app.request("/api/v1/events?limit=3", authed())).json()) as {
      items: Array<{ seq: number }>;
      next: string | null;
    };
    expect(first.items.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(first.next).toBe("3");
    const second = (await (await app.request("/api/v1/events?limit=3&after=3", authed())).json()) as {
      items: Array<{ seq: number }>;
      next: string | null;
    };
    expect(second).toMatchObject({ items: [{ seq: 4 }, { seq: 5 }], next: null });
    expect(fleet.calls[1]?.args[0]).toEqual({ limit: 3, afterSeq: 3, rack: undefined, since: undefined });
  });

  test("passes rack and since", async () => {
    const { app, fleet } = buildTestApi();
    const res = await app.request("/api/v1/events?rack=rack-a&since=2025-01-01T10:00:00%2B02:00", authed());
    expect(res.status).toBe(200);
    const query = fleet.calls[0]?.args[0] as { rack: string; since: Date };
    expect(query.rack).toBe("rack-a");
    expect(query.since.toISOString()).toBe("2025-01-01T08:00:00.000Z");
  });

  test.each([
    "since=yesterday",
    "since=2025-13-01T00:00:00Z",
    "after=-1",
    "after=abc",
    "rack=..%2F",
    "limit=0",
  ])("?%s is 400 malformed", async (query) => {
    const { app } = buildTestApi();
    const res = await app.request(`/api/v1/events?${query}`, authed());
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("malformed");
  });
});

describe("GET /api/v1/events/verify", () => {
  test("answers ok with the count", async () => {
    const { app } = buildTestApi();
    const res = await app.request("/api/v1/events/verify", authed());
    expect(await res.json()).toEqual({ ok: true, count: 5 });
  });

  test("a broken chain is still a 200, naming where it broke", async () => {
    const { app, fleet } = buildTestApi();
    fleet.audit.verify = async () => ({ ok: false, broken_at: 17, reason: "hash mismatch" });
    const res = await app.request("/api/v1/events/verify", authed());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: false, broken_at: 17, reason: "hash mismatch" });
  });
});
