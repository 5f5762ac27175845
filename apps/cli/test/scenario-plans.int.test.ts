// `fluxrig scenario plan`, `history` and `rollback` against a real Mixer (real processes, real DuckDB file).
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MixerHarness, ScriptedRack, tempDir, waitFor } from "@fluxrig/testkit";
import { expect, test } from "vitest";
import { cliFor } from "./support/fluxrig-cli.js";

// v1: rack-a runs tick -> count, rack-b runs beat; rack-b is named, rack-a too.
const V1 = `meta: { name: lab, version: 1 }
racks: [{ name: rack-a }, { name: rack-b }]
gears:
  - { name: tick, type: ticker, deploy: rack-a, config: { interval: 1s } }
  - { name: count, type: counter, deploy: rack-a }
  - { name: beat, type: ticker, deploy: rack-b, config: { interval: 5s } }
wires:
  - { name: feed, from: tick.out, to: count.in }
`;
// v2: tick and its wire unchanged; count's config changed; a new gear on rack-a; rack-b dropped; rack-c (pending)
// and rack-d (never seen) named.
const V2 = `meta: { name: lab, version: 2 }
racks: [{ name: rack-a }, { name: rack-c }, { name: rack-d }]
gears:
  - { name: tick, type: ticker, deploy: rack-a, config: { interval: 1s } }
  - { name: count, type: counter, deploy: rack-a, config: { every: 10 } }
  - { name: slow, type: ticker, deploy: rack-a, config: { interval: 10s } }
  - { name: pulse, type: ticker, deploy: rack-c, config: { interval: 2s } }
  - { name: far, type: ticker, deploy: rack-d, config: { interval: 2s } }
wires:
  - { name: feed, from: tick.out, to: count.in }
`;

interface Plan {
  scenario: { name: string; version: string };
  active: { name: string; version: string } | null;
  stored: boolean;
  racks: Array<{
    name: string;
    status: string | null;
    action: string;
    gears: { start: string[]; stop: string[]; restart: string[]; unchanged: string[] };
  }>;
}
interface Activation {
  seq: number;
  name: string;
  version: string;
  actor: string;
  cause: string;
  reason: string | null;
  current: boolean;
}

test("plan says per Rack what would change and writes nothing; every activation is kept; rollback goes back", async () => {
  await using h = await MixerHarness.create();
  using dir = tempDir("cli-scenario-plan");
  const fluxrig = cliFor(h);
  const v1 = join(dir.path, "v1.yaml");
  const v2 = join(dir.path, "v2.yaml");
  const bad = join(dir.path, "bad.yaml");
  const taken = join(dir.path, "taken.yaml");
  await writeFile(v1, V1);
  await writeFile(v2, V2);
  await writeFile(bad, V2.replace("type: counter", "type: countr"));
  await writeFile(taken, V1.replace("interval: 5s", "interval: 6s"));

  const nc = await h.client();
  const rackA = new ScriptedRack(nc, "rack-a").listen();
  const rackB = new ScriptedRack(nc, "rack-b").listen();
  const rackC = new ScriptedRack(nc, "rack-c").listen();
  for (const rack of [rackA, rackB, rackC]) expect((await rack.hello()).status).toBe("pending");

  const as = (secret: string) => ({ env: { FLUXRIG_API_TOKEN: secret } });
  const alice = (await fluxrig(["tokens", "create", "alice", "--role", "operator"])).stdout.trim();
  const bob = (await fluxrig(["tokens", "create", "bob", "--role", "operator"])).stdout.trim();
  const wallboard = (await fluxrig(["tokens", "create", "wallboard", "--role", "viewer"])).stdout.trim();

  // Nothing to roll back to yet: refused clearly.
  const early = await fluxrig(["scenario", "rollback"], as(alice));
  expect(early.code).toBe(1);
  expect(early.stderr).toContain("nothing to roll back to: no scenario is active");
  expect(early.stderr).toMatch(/\(invalid_transition\)\n$/);

  // A plan with nothing active: everything starts; pending Racks would be adopted. A viewer may plan.
  const first = await fluxrig(["scenario", "plan", v1, "--json"], as(wallboard));
  expect(first.code, first.stderr).toBe(0);
  expect(first.json<Plan>()).toEqual({
    scenario: { name: "lab", version: "1" },
    active: null,
    stored: false,
    racks: [
      {
        name: "rack-a",
        status: "pending",
        action: "adopt",
        gears: { start: ["count", "tick"], stop: [], restart: [], unchanged: [] },
      },
      {
        name: "rack-b",
        status: "pending",
        action: "adopt",
        gears: { start: ["beat"], stop: [], restart: [], unchanged: [] },
      },
    ],
  });
  // Nothing was written: no scenario, no Rack adopted, no push.
  expect((await fluxrig(["scenario", "list", "--json"])).json()).toEqual({ items: [] });
  expect((await rackA.hello()).status).toBe("pending");

  const applied = await fluxrig(
    ["scenario", "apply", v1, "--activate", "--reason", "first light"],
    as(alice),
  );
  expect(applied.code, applied.stderr).toBe(0);
  await waitFor(() => rackA.scenarioPushes.length > 0 && rackB.scenarioPushes.length > 0, {
    timeoutMs: 10_000,
    message: "v1 pushed to rack-a and rack-b",
  });
  expect((await rackA.hello()).status).toBe("active");
  expect((await rackB.hello()).status).toBe("active");
  const pushesBefore = { a: rackA.scenarioPushes.length, b: rackB.scenarioPushes.length };
  const eventsBefore = (await fluxrig(["events", "--json"])).json<{ items: unknown[] }>().items.length;

  // The plan of v2 against v1, in JSON and as text.
  const planned = await fluxrig(["scenario", "plan", v2, "--json"], as(wallboard));
  expect(planned.code, planned.stderr).toBe(0);
  expect(planned.json<Plan>()).toEqual({
    scenario: { name: "lab", version: "2" },
    active: { name: "lab", version: "1" },
    stored: false,
    racks: [
      {
        name: "rack-a",
        status: "active",
        action: "push",
        gears: { start: ["slow"], stop: [], restart: ["count"], unchanged: ["tick"] },
      },
      {
        name: "rack-b",
        status: "active",
        action: "drop",
        gears: { start: [], stop: ["beat"], restart: [], unchanged: [] },
      },
      {
        name: "rack-c",
        status: "pending",
        action: "adopt",
        gears: { start: ["pulse"], stop: [], restart: [], unchanged: [] },
      },
      {
        name: "rack-d",
        status: null,
        action: "wait",
        gears: { start: ["far"], stop: [], restart: [], unchanged: [] },
      },
    ],
  });
  const text = await fluxrig(["scenario", "plan", v2]);
  expect(text.code).toBe(0);
  expect(text.stdout).toContain("plan: lab version 2 against lab version 1; nothing was changed\n");
  expect(text.stdout).toContain(
    "rack-a [active] pushed at once\n  + start    slow\n  ~ restart  count\n  = keep     tick\n",
  );
  expect(text.stdout).toContain(
    "rack-b [active] no longer named: pushed at once, stops its gears\n  - stop     beat\n",
  );
  expect(text.stdout).toContain("rack-d [not enrolled] waits: gets its gears when it is adopted\n");

  // Refused as an import would be: an invalid file on its line, a stored version with other content.
  const invalid = await fluxrig(["scenario", "plan", bad]);
  expect(invalid.code).toBe(1);
  expect(invalid.stderr).toContain(`${bad}:5:`);
  const conflict = await fluxrig(["scenario", "plan", taken, "--json"]);
  expect(conflict.code).toBe(1);
  expect(conflict.json()).toMatchObject({ error: { code: "conflict" } });
  // Planning the stored version again says so, and that nothing changes.
  expect((await fluxrig(["scenario", "plan", v1, "--json"])).json<Plan>()).toMatchObject({
    stored: true,
    racks: [
      {
        name: "rack-a",
        action: "push",
        gears: { start: [], stop: [], restart: [], unchanged: ["count", "tick"] },
      },
      { name: "rack-b", action: "push", gears: { start: [], stop: [], restart: [], unchanged: ["beat"] } },
    ],
  });

  // None of those plans wrote anything or told any Rack anything.
  const listed = (await fluxrig(["scenario", "list", "--json"])).json<{
    items: Array<{ version: string }>;
  }>();
  expect(listed.items.map((s) => s.version)).toEqual(["1"]);
  expect((await fluxrig(["events", "--json"])).json<{ items: unknown[] }>().items).toHaveLength(eventsBefore);
  expect((await rackC.hello()).status).toBe("pending");
  expect({ a: rackA.scenarioPushes.length, b: rackB.scenarioPushes.length }).toEqual(pushesBefore);

  // bob activates v2; the history keeps both, newest first, with who and why.
  expect((await fluxrig(["scenario", "apply", v2, "--activate"], as(bob))).code).toBe(0);
  await waitFor(() => rackA.scenarioPushes.at(-1)?.scenario.version === "2", {
    timeoutMs: 10_000,
    message: "v2 pushed to rack-a",
  });
  const history = (await fluxrig(["scenario", "history", "--json"], as(wallboard))).json<{
    items: Activation[];
  }>();
  expect(history.items.map((a) => [a.seq, a.version, a.actor, a.cause, a.reason, a.current])).toEqual([
    [2, "2", "bob", "operator", null, true],
    [1, "1", "alice", "operator", "first light", false],
  ]);
  const table = await fluxrig(["scenario", "history", "lab"]);
  expect(table.stdout.split("\n")[0]).toMatch(/^ *# +NAME +VERSION +ACTIVATED +BY +CAUSE +CURRENT +REASON/);
  expect(table.stdout.split("\n")[1]).toMatch(/^ *2 +lab +2 +.* bob +operator +yes/);
  const unknown = await fluxrig(["scenario", "history", "nope"]);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr).toMatch(/no scenario named nope.*\(not_found\)/s);

  // Rollback: v1 again, exactly as it was (its YAML), a new activation audited as a rollback.
  const rolled = await fluxrig(["scenario", "rollback", "--reason", "v2 counts wrong"], as(alice));
  expect(rolled.code, rolled.stderr).toBe(0);
  expect(rolled.stdout).toContain("rolled back to lab version 1");
  await waitFor(() => rackA.scenarioPushes.at(-1)?.scenario.version === "1", {
    timeoutMs: 10_000,
    message: "v1 pushed to rack-a again",
  });
  await waitFor(() => rackB.scenarioPushes.at(-1)?.gears.length === 1, {
    timeoutMs: 10_000,
    message: "rack-b gets its gear back",
  });
  const shown = (await fluxrig(["scenario", "show", "--json"])).json<{ version: string; yaml: string }>();
  expect(shown).toMatchObject({ version: "1", yaml: V1 });
  const events = (await fluxrig(["events", "--json"])).json<{
    items: Array<{ kind: string; cause: string; actor: string }>;
  }>();
  expect(events.items).toContainEqual(
    expect.objectContaining({ kind: "scenario_activated", cause: "rollback", actor: "alice" }),
  );
  // A second rollback goes back to v2 (the latest other version), not further.
  expect((await fluxrig(["scenario", "rollback"], as(alice))).code).toBe(0);
  expect((await fluxrig(["scenario", "show", "--json"])).json<{ version: string }>().version).toBe("2");

  // Kept across a restart of the Mixer: history in the registry file.
  await h.stop();
  await h.start();
  const after = (await fluxrig(["scenario", "history", "--json"])).json<{ items: Activation[] }>();
  expect(after.items.map((a) => [a.seq, a.version, a.cause, a.current])).toEqual([
    [4, "2", "rollback", true],
    [3, "1", "rollback", false],
    [2, "2", "operator", false],
    [1, "1", "operator", false],
  ]);
  expect((await fluxrig(["scenario", "rollback", "--json"])).json()).toMatchObject({
    scenario: { name: "lab", version: "1", active: true },
  });
});
