// `fluxrig racks` against a real Mixer: list, show, adopt (one, several, by pattern), reject, revoke, rm.
import { MixerHarness, ScriptedRack } from "@fluxrig/testkit";
import { describe, expect, test } from "vitest";
import { cliFor, hexId } from "./support/fluxrig-cli.js";

interface RackJson {
  name: string;
  status: string;
  entity_id: string;
  entity_id_hex: string;
  machine_id: number;
  key_fingerprint: string;
  evidence?: { hello_count: number; last_source: string | null; conflicts: unknown[] };
}

describe("racks", () => {
  test("list (table and JSON), show by name, hex and decimal, adopt one and several", async () => {
    await using h = await MixerHarness.create();
    const fluxrig = cliFor(h);
    const nc = await h.client();
    const racks = ["rack-nyc-01", "rack-nyc-02", "rack-nyc-03"].map((n) => new ScriptedRack(nc, n).listen());
    for (const r of racks) expect((await r.hello()).status).toBe("pending");
    const [one, two, three] = racks as [ScriptedRack, ScriptedRack, ScriptedRack];

    const table = await fluxrig(["racks", "list"]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME +STATUS +MID +ENTITY ID +LAST SEEN +VERSION +HOST$/);
    expect(lines.slice(1).map((l) => l.split(/ +/).slice(0, 2))).toEqual([
      ["rack-nyc-01", "pending"],
      ["rack-nyc-02", "pending"],
      ["rack-nyc-03", "pending"],
    ]);

    const listed = (await fluxrig(["racks", "list", "--json"])).json<{ items: RackJson[]; next: null }>();
    expect(listed.next).toBeNull();
    expect(listed.items.map((r) => [r.name, r.entity_id])).toEqual(racks.map((r) => [r.name, r.entityId]));

    const byName = await fluxrig(["racks", "show", "rack-nyc-01"]);
    expect(byName.code).toBe(0);
    expect(byName.stdout).toMatch(/^status +pending/m);
    expect(byName.stdout).toMatch(
      /^hardware +hostname rack-nyc-01-host, os linux, arch x64, mac 02:00:00:00:00:01$/m,
    );
    expect(byName.stdout).toMatch(/^hellos +1$/m);
    expect(byName.stdout).toMatch(/^first seen +\d{4}-\d\d-\d\dT[0-9:]+Z \(.+\)$/m);
    expect(byName.stdout).toContain(`public key   ${one.publicKey}`);
    expect(byName.stderr).toContain("adopt it:  fluxrig racks adopt rack-nyc-01");
    const viaHex = (await fluxrig(["racks", "show", hexId(one.entityId!), "--json"])).json<RackJson>();
    const viaDecimal = (await fluxrig(["racks", "show", one.entityId!, "--json"])).json<RackJson>();
    expect(viaHex).toEqual(viaDecimal);
    expect(viaHex).toMatchObject({ name: "rack-nyc-01", entity_id_hex: hexId(one.entityId!) });
    expect(viaHex.evidence).toMatchObject({ hello_count: 1, conflicts: [] });
    expect(byName.stdout).toContain(`key          ${viaHex.key_fingerprint}`);

    const adoptOne = await fluxrig(["racks", "adopt", "rack-nyc-01", "--reason", "ticket OPS-42"]);
    expect(adoptOne.code).toBe(0);
    expect(adoptOne.stdout).toMatch(
      /^rack-nyc-01 \(0x[0-9a-f]{16}\): active, passport serial 1, expires in \d+[hd]$/m,
    );
    expect(await one.hello()).toMatchObject({ status: "active", passport: expect.any(Object) });

    const adoptTwo = await fluxrig(["racks", "adopt", "rack-nyc-02", three.entityId!, "--json"]);
    expect(adoptTwo.code).toBe(0);
    expect(adoptTwo.json<RackJson[]>().map((r) => [r.name, r.status])).toEqual([
      ["rack-nyc-02", "active"],
      ["rack-nyc-03", "active"],
    ]);
    for (const r of [two, three]) expect((await r.hello()).status, r.name).toBe("active");
    const active = (await fluxrig(["racks", "list", "--status", "active", "--json"])).json<{
      items: RackJson[];
    }>();
    expect(active.items).toHaveLength(3);
  });

  test("bulk adopt by pattern (--dry-run changes nothing), reject, revoke twice, rm --yes, refusals", async () => {
    await using h = await MixerHarness.create();
    const fluxrig = cliFor(h);
    const nc = await h.client();
    const byName = new Map(
      ["rack-nyc-01", "rack-nyc-02", "rack-nyc-09", "rack-lon-01"].map((n) => [
        n,
        new ScriptedRack(nc, n).listen(),
      ]),
    );
    for (const r of byName.values()) await r.hello();
    const rack = (name: string) => byName.get(name)!;

    const rejected = await fluxrig(["racks", "reject", "rack-nyc-09", "--reason", "unknown serial"]);
    expect(rejected).toMatchObject({ code: 0, stdout: expect.stringMatching(/^rack-nyc-09 .*: rejected$/m) });
    expect((await rack("rack-nyc-09").hello()).status).toBe("rejected");

    const dry = await fluxrig(["racks", "adopt", "--pattern", "rack-nyc-*", "--dry-run", "--json"]);
    expect(dry.code).toBe(0);
    expect(dry.json()).toMatchObject({
      dry_run: true,
      adopted: [
        { name: "rack-nyc-01", from: "pending" },
        { name: "rack-nyc-02", from: "pending" },
      ],
      skipped: [],
    });
    const still = (await fluxrig(["racks", "list", "--status", "pending", "--json"])).json<{
      items: RackJson[];
    }>();
    expect(still.items.map((r) => r.name)).toEqual(["rack-lon-01", "rack-nyc-01", "rack-nyc-02"]);
    expect((await rack("rack-nyc-01").hello()).status).toBe("pending");

    const bulk = await fluxrig(["racks", "adopt", "--pattern", "rack-nyc-*"]);
    expect(bulk.code).toBe(0);
    expect(bulk.stdout).toBe("adopted rack-nyc-01 (was pending)\nadopted rack-nyc-02 (was pending)\n");
    expect((await rack("rack-nyc-01").hello()).status).toBe("active");
    expect((await rack("rack-lon-01").hello()).status).toBe("pending");

    for (let i = 0; i < 2; i += 1) {
      const revoked = await fluxrig(["racks", "revoke", "rack-nyc-01", "--json"]);
      expect(revoked.code, `revoke #${i + 1}`).toBe(0);
      expect(revoked.json<RackJson>().status).toBe("revoked");
    }
    expect((await rack("rack-nyc-01").hello()).status).toBe("revoked");

    const refusedAdopt = await fluxrig(["racks", "adopt", "rack-nyc-09"]);
    expect(refusedAdopt.code).toBe(1);
    expect(refusedAdopt.stderr).toMatch(/^error: rack-nyc-09 was rejected.* \(invalid_transition\)$/m);

    const noTty = await fluxrig(["racks", "rm", "rack-lon-01"]);
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toMatch(/without --yes: stdin is not a terminal/);
    const removed = await fluxrig(["racks", "rm", "rack-lon-01", "--yes"]);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toMatch(/^deleted rack-lon-01 \(\d+, MachineID \d+\)$/m);
    const gone = await fluxrig(["racks", "show", "rack-lon-01"]);
    expect(gone).toMatchObject({ code: 1, stdout: "", stderr: "error: no Rack rack-lon-01 (not_found)\n" });
  });
});
