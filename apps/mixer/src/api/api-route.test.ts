// `reply`'s response check: the route's schema compiled (z.compile) must answer exactly what the interpreted schema
// does, on good pages and bad ones, and through the app an undocumented key never reaches the client.
import { RackPageSchema, type RackView } from "@fluxrig/wire";
import { describe, expect, test } from "vitest";
import { z } from "zod";
import { fakeRack } from "../../test/support/fake-fleet.js";
import { authed, buildTestApi } from "../../test/support/test-api.js";

const STATS = {
  cpu: { process_pct: 3.2, host_pct: 11 },
  mem: { rss_bytes: 5e7, heap_used_bytes: 2e7 },
  event_loop_lag_ms: 0.4,
  active_handles: 7,
  uptime_s: 360,
};

function page(n: number) {
  const items = Array.from({ length: n }, (_, i) => ({
    ...fakeRack(`rack-${String(i).padStart(3, "0")}`, i + 1, i % 2 === 0 ? "active" : "pending"),
    stats: i % 3 === 0 ? null : { ...STATS, uptime_s: i },
  }));
  return { items, next: n > 0 ? items[n - 1]!.name : null };
}

/** The outcome of a parse, as data: the output, or the issues. */
function outcome(schema: z.ZodType, value: unknown) {
  const r = schema.safeParse(value);
  return r.success ? { data: r.data } : { issues: r.error.issues };
}

describe("the compiled response check", () => {
  const compiled = z.compile(RackPageSchema);
  const good = page(100);
  const cases: Array<[string, unknown]> = [
    ["a page of 100 Racks", good],
    ["an empty last page", page(0)],
    ["an undocumented key on a Rack", { ...good, items: [{ ...good.items[0], secret: "x" }] }],
    ["an undocumented key on the page", { ...good, total: 100 }],
    ["a status outside the enum", { ...good, items: [{ ...good.items[1], status: "sideways" }] }],
    ["a missing field", { ...good, items: [{ ...good.items[2], name: undefined }] }],
    ["a bad entity id", { ...good, items: [{ ...good.items[3], entity_id: "0x12" }] }],
    ["a fractional machine id", { ...good, items: [{ ...good.items[4], machine_id: 1.5 }] }],
    ["stats that are not an object", { ...good, items: [{ ...good.items[5], stats: [1, 2] }] }],
    ["a page that is null", null],
  ];

  test.each(cases)("answers as the interpreted schema does: %s", (_what, value) => {
    expect(outcome(compiled, value)).toEqual(outcome(RackPageSchema, value));
  });

  test("strips what is not documented and refuses what is wrong (the cases above are not all alike)", () => {
    const stripped = compiled.safeParse(cases[2]![1]);
    expect(stripped.success && "secret" in stripped.data.items[0]!).toBe(false);
    expect(compiled.safeParse(cases[4]![1]).success).toBe(false);
  });
});

describe("reply", () => {
  test("a key the handler adds that the schema does not document is not in the answer", async () => {
    const api = buildTestApi();
    const rack = { ...fakeRack("rack-a", 1, "active"), token_secret: "s3cret" } as RackView;
    api.fleet.racks.show = async () => rack;
    const res = await api.app.request("/api/v1/racks/rack-a", authed());
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.name).toBe("rack-a");
    expect(body).not.toHaveProperty("token_secret");
  });

  test("each answer is checked, not only a route's first one", async () => {
    const api = buildTestApi();
    let status = "active";
    api.fleet.racks.show = async () => ({ ...fakeRack("rack-a", 1), status }) as RackView;
    expect((await api.app.request("/api/v1/racks/rack-a", authed())).status).toBe(200);
    status = "sideways";
    expect((await api.app.request("/api/v1/racks/rack-a", authed())).status).toBe(500);
  });
});
