// `fluxrig scenario`, `events`, `events verify` and `cluster info` against a real Mixer.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MixerHarness, ScriptedRack, tempDir, waitFor } from "@fluxrig/testkit";
import { expect, test } from "vitest";
import { cliFor } from "./support/fluxrig-cli.js";

const GOOD = `meta: { name: edge-demo, version: 1 }
racks: [{ name: rack-edge-01 }]
gears:
  - { name: tick, type: ticker, deploy: rack-edge-01, config: { interval: 1s } }
  - { name: count, type: counter, deploy: rack-edge-01 }
wires:
  - { from: tick.out, to: count.in }
`;
// Line 4 names a gear type no Rack knows, line 5 gives the counter a bad value, line 7 wires to a gear that is not there.
const BAD = GOOD.replace("type: ticker", "type: tickr")
  .replace("deploy: rack-edge-01 }", 'deploy: rack-edge-01, config: { every: "lots" } }')
  .replace("to: count.in", "to: cnt.in");

test("scenario apply: bad YAML is exit 1 with its line; a good one --activate adopts and pushes", async () => {
  await using h = await MixerHarness.create();
  using dir = tempDir("cli-scenario");
  const fluxrig = cliFor(h);
  const rack = new ScriptedRack(await h.client(), "rack-edge-01").listen();
  expect((await rack.hello()).status).toBe("pending");
  const bad = join(dir.path, "bad.yaml");
  const good = join(dir.path, "edge-demo.yaml");
  await writeFile(bad, BAD);
  await writeFile(good, GOOD);

  const refused = await fluxrig(["scenario", "apply", bad]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/^error: .* \(schema\)$/m);
  expect(refused.stderr).toContain(`${bad}:4:`);
  expect(refused.stderr).toContain("expected one of ticker, transform, counter");
  expect(refused.stderr).toContain("    4 |   - { name: tick, type: tickr,");
  // Every problem in one pass, each on its line.
  expect(refused.stderr).toContain(`${bad}:5:`);
  expect(refused.stderr).toContain("gears[1].config.every: expected a whole number of messages, at least 1");
  expect(refused.stderr).toContain(`${bad}:7:`);
  expect(refused.stderr).toContain("wires[0].to: wire to cnt.in names an unknown gear cnt");
  const refusedJson = await fluxrig(["scenario", "apply", bad, "--json"]);
  expect(refusedJson.code).toBe(1);
  expect(refusedJson.json()).toMatchObject({
    error: { code: "schema", details: { issues: [{ line: 4 }, { line: 5 }, { line: 7 }] } },
  });

  const dry = await fluxrig(["scenario", "apply", good, "--dry-run"]);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toMatch(
    /^valid: edge-demo version 1 \(1 rack, 2 gears, 1 wire\); dry run, nothing was imported$/m,
  );
  expect((await fluxrig(["scenario", "list", "--json"])).json()).toEqual({ items: [] });
  expect((await fluxrig(["scenario", "show"])).code).toBe(1);

  const applied = await fluxrig(["scenario", "apply", good, "--activate"]);
  expect(applied.code).toBe(0);
  expect(applied.stdout).toContain("imported and activated edge-demo version 1");
  expect(applied.stdout).toMatch(/^adopted: rack-edge-01$/m);
  await waitFor(() => rack.scenarioPushes.length > 0, {
    timeoutMs: 10_000,
    message: "scenario push to rack-edge-01",
  });
  expect((await rack.hello()).status).toBe("active");

  const listed = await fluxrig(["scenario", "list"]);
  expect(listed.stdout.split("\n")[1]).toMatch(/^edge-demo +1 +yes +1 +2 +1 /);
  const shown = await fluxrig(["scenario", "show"]);
  expect(shown.code).toBe(0);
  expect(shown.stdout).toContain(GOOD.trimEnd());
  const activated = await fluxrig(["scenario", "activate", "edge-demo", "--json"]);
  expect(activated.code).toBe(0);
  expect(activated.json()).toMatchObject({ scenario: { name: "edge-demo", active: true } });
  const missing = await fluxrig(["scenario", "activate", "no-such-scenario"]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/\(not_found\)\n$/);
});

test("cluster info, events filtered by Rack and time with the actor and reason, events verify", async () => {
  await using h = await MixerHarness.create();
  const fluxrig = cliFor(h);
  const rack = new ScriptedRack(await h.client(), "rack-audit-01").listen();
  await rack.hello();

  const info = await fluxrig(["cluster", "info", "--json"]);
  expect(info.code).toBe(0);
  const cluster = info.json<{
    cluster: string;
    key_id: string;
    public_key: string;
    counts: { pending: number };
  }>();
  expect(cluster.counts.pending).toBe(1);
  const page = await fluxrig(["cluster", "info"]);
  expect(page.stdout).toMatch(new RegExp(`^key id +${cluster.key_id}$`, "m"));
  expect(page.stdout).toMatch(/^racks +1 total: 0 active, 1 pending, 0 offline, 0 rejected, 0 revoked$/m);
  expect(page.stdout).toMatch(new RegExp(`^api +${h.apiUrl}$`, "m"));

  const adopted = await fluxrig(["racks", "adopt", "rack-audit-01", "--reason", "ticket OPS-7"], {
    env: { FLUXRIG_ACTOR: "alice" },
  });
  expect(adopted.code).toBe(0);

  const events = await fluxrig(["events", "--rack", "rack-audit-01", "--since", "1h", "--json"]);
  expect(events.code).toBe(0);
  const items = events.json<{ items: Array<Record<string, unknown>> }>().items;
  expect(items).toContainEqual(
    expect.objectContaining({
      name: "rack-audit-01",
      from_status: "pending",
      to_status: "active",
      actor: "api:alice",
      details: expect.objectContaining({ reason: "ticket OPS-7" }),
    }),
  );
  const table = await fluxrig(["events", "--rack", "rack-audit-01"]);
  expect(table.stdout.split("\n")[0]).toMatch(/^SEQ +AT +RACK +EVENT +CAUSE +ACTOR +DETAILS$/);
  expect(table.stdout).toMatch(
    /rack-audit-01 +\S+ pending -> active +operator +api:alice +reason=ticket OPS-7/,
  );
  const future = await fluxrig(["events", "--since", "2099-01-01T00:00:00Z"]);
  expect(future).toMatchObject({ code: 0, stdout: "", stderr: "no events match\n" });

  const verified = await fluxrig(["events", "verify"]);
  expect(verified.code).toBe(0);
  expect(verified.stdout).toMatch(/^audit log verified: \d+ events, chain unbroken$/m);
  expect((await fluxrig(["events", "verify", "--json"])).json()).toMatchObject({ ok: true });
});
