// Per-gear health against a real Mixer: a heartbeat's per-gear list is accepted and shown by `GET /racks/{ref}` as
// `gears`, kept out of lists; a Rack that sends only the totals (an older one) shows them as before.
import { MixerHarness, ScriptedRack, waitFor } from "@fluxrig/testkit";
import type { GearHealthView, RackPage, RackView } from "@fluxrig/wire";
import { describe, expect, test } from "vitest";

const TOTALS = { gears: { running: 1, failed: 1, restarts: 4 }, messages: { in: 10, out: 7 } };
const GEARS: GearHealthView[] = [
  { name: "tick", type: "ticker", state: "running", restarts: 0, in: 0, out: 7 },
  {
    name: "parse",
    type: "transform",
    state: "restarting",
    restarts: 4,
    in: 10,
    out: 0,
    last_error: { message: "cannot parse the message", at: "2026-12-06T12:00:00.000Z" },
  },
];

describe("per-gear health", () => {
  test("a heartbeat's per-gear list is shown by racks show; a Rack without one shows its totals", async () => {
    await using h = await MixerHarness.create({ env: { FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" } });
    const nc = await h.client();
    const modern = new ScriptedRack(nc, "rack-gears").listen();
    const older = new ScriptedRack(nc, "rack-older").listen();
    expect((await modern.hello()).status).toBe("active");
    expect((await older.hello()).status).toBe("active");
    const stats = modern.heartbeatMessage().stats;
    modern.heartbeat({ stats: { ...stats, ...TOTALS, gear_list: GEARS } });
    older.heartbeat({ stats: { ...stats, ...TOTALS } });

    const show = async (name: string) => (await h.api<RackView>(`/api/v1/racks/${name}`)).body;
    const shown = await waitFor(
      async () => {
        const view = await show("rack-gears");
        return view.gears ? view : undefined;
      },
      { message: "the per-gear list to show" },
    );
    expect(shown.gears).toEqual(GEARS);
    expect(shown.stats).toMatchObject(TOTALS);
    expect(shown.stats).not.toHaveProperty("gear_list");

    const old = await waitFor(
      async () => {
        const view = await show("rack-older");
        return view.stats?.gears ? view : undefined;
      },
      { message: "the older Rack's totals to show" },
    );
    expect(old.gears).toBeNull();
    expect(old.stats).toMatchObject(TOTALS);

    // A list of Racks carries the totals only.
    const page = (await h.api<RackPage>("/api/v1/racks")).body;
    for (const item of page.items) {
      expect(item).not.toHaveProperty("gears");
      expect(item.stats).not.toHaveProperty("gear_list");
    }

    // The next heartbeat's list replaces the last one: the parser runs again, its last error stays.
    const recovered = GEARS.map((g) =>
      g.name === "parse" ? { ...g, state: "running" as const, in: 12 } : g,
    );
    modern.heartbeat({ stats: { ...stats, ...TOTALS, gear_list: recovered } });
    await waitFor(async () => (await show("rack-gears")).gears?.[1]?.state === "running", {
      message: "the new list to replace the old",
    });
    expect((await show("rack-gears")).gears).toEqual(recovered);

    // A heartbeat whose list breaks the bounds is dropped whole, the shown list unchanged.
    const tooLong = {
      ...GEARS[1]!,
      last_error: { message: "x".repeat(201), at: "2026-12-06T12:00:01.000Z" },
    };
    modern.heartbeat({ stats: { ...stats, ...TOTALS, gear_list: [tooLong] } });
    modern.heartbeat({ stats: { ...stats, ...TOTALS, messages: { in: 99, out: 99 }, gear_list: recovered } });
    const messagesIn = async () =>
      ((await show("rack-gears")).stats?.messages as { in?: number } | undefined)?.in;
    await waitFor(async () => (await messagesIn()) === 99, {
      message: "the valid heartbeat after the refused one",
    });
    expect((await show("rack-gears")).gears).toEqual(recovered);
  });
});
