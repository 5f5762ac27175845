// `fluxrig racks show` against a real Mixer: the gear table of a Rack that reports its gears, its --json the API's
// body, and the totals alone for a Rack that reports none.
import { MixerHarness, ScriptedRack, waitFor } from "@fluxrig/testkit";
import type { GearHealthView, RackView } from "@fluxrig/wire";
import { expect, test } from "vitest";
import { cliFor } from "./support/fluxrig-cli.js";

const TOTALS = { gears: { running: 1, failed: 1, restarts: 4 }, messages: { in: 40, out: 12 } };

test("racks show prints each gear a Rack reports, and the totals alone for a Rack that reports none", async () => {
  await using h = await MixerHarness.create({ env: { FLUXRIG_ENROLLMENT_AUTO_ADOPT: "true" } });
  const fluxrig = cliFor(h);
  const nc = await h.client();
  const modern = new ScriptedRack(nc, "rack-gears").listen();
  const older = new ScriptedRack(nc, "rack-older").listen();
  await modern.hello();
  await older.hello();
  const errorAt = new Date(Date.now() - 90_000).toISOString();
  const gears: GearHealthView[] = [
    { name: "tick", type: "ticker", state: "running", restarts: 0, in: 0, out: 12 },
    {
      name: "parse",
      type: "transform",
      state: "restarting",
      restarts: 4,
      in: 40,
      out: 0,
      last_error: { message: "Unexpected token } in JSON at position 17", at: errorAt },
    },
  ];
  const stats = modern.heartbeatMessage().stats;
  modern.heartbeat({ stats: { ...stats, ...TOTALS, gear_list: gears } });
  older.heartbeat({ stats: { ...stats, ...TOTALS } });

  const json = await waitFor(
    async () => {
      const shown = (await fluxrig(["racks", "show", "rack-gears", "--json"])).json<RackView>();
      return shown.gears ? shown : undefined;
    },
    { message: "the per-gear list in racks show --json" },
  );
  expect(json.gears).toEqual(gears);

  const page = await fluxrig(["racks", "show", "rack-gears"]);
  expect(page.code).toBe(0);
  expect(page.stdout).toMatch(/^gears +2 deployed, 1 failing \(as of .+\)$/m);
  expect(page.stdout).toMatch(/^GEAR +TYPE +STATE +RESTARTS +IN +OUT +LAST ERROR +AGE$/m);
  expect(page.stdout).toMatch(/^tick +ticker +running +0 +0 +12 +- +-$/m);
  expect(page.stdout).toMatch(
    /^parse +transform +restarting +4 +40 +0 +Unexpected token \} in JSON at position 17 +1m ago$/m,
  );

  await waitFor(
    async () => (await fluxrig(["racks", "show", "rack-older", "--json"])).json<RackView>().stats?.gears,
    { message: "the older Rack's totals" },
  );
  const old = await fluxrig(["racks", "show", "rack-older"]);
  expect(old.stdout).toContain("gears 1 running, 1 failed, 4 restarts, messages 40 in, 12 out");
  expect(old.stdout).not.toMatch(/^GEAR /m);
  expect(old.stdout).not.toMatch(/^gears /m);
});
