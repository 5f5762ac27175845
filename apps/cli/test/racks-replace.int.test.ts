// A rebuilt machine: a new key claims a taken name, the operator sees the conflict and hands the name over.
import { decodePassportPayload } from "@fluxrig/passport";
import { MixerHarness, ScriptedRack } from "@fluxrig/testkit";
import { expect, test } from "vitest";
import { cliFor } from "./support/fluxrig-cli.js";

interface RackJson {
  name: string;
  status: string;
  machine_id: number;
  key_fingerprint: string;
  attributes: { public_key?: string; hostname?: string; os?: string; arch?: string; mac?: string[] };
  version: string;
  passport: { serial: number } | null;
  evidence?: {
    last_source: string | null;
    conflicts: Array<{
      claimed_public_key: string;
      claimed_key_fingerprint: string;
      last_source: string | null;
    }>;
  };
}

interface AuditEvent {
  kind: string;
  cause: string;
  details: { serial?: number } | null;
}

test("conflict visible in racks show and racks conflicts, then racks replace hands the name to the new key", async () => {
  await using h = await MixerHarness.create();
  const fluxrig = cliFor(h);
  const nc = await h.client();
  const old = new ScriptedRack(nc, "rack-nyc-01").listen();
  await old.hello();
  expect((await fluxrig(["racks", "adopt", "rack-nyc-01"])).code).toBe(0);
  expect((await old.hello()).status).toBe("active");

  // The same name from another key (the machine was rebuilt): refused, and recorded.
  // It does not listen to its pushes: like a real Rack with no Cluster Key pinned yet, it cannot take the passport
  // pushed at the replace, and asks with a hello instead.
  const rebuilt = new ScriptedRack(nc, "rack-nyc-01");
  const newHost = { hostname: "nyc-01-rebuilt", os: "linux 6.6", arch: "arm64", mac: ["02:00:00:00:00:99"] };
  const reported = { ...newHost, addresses: ["10.9.8.7", "fd00::9"] };
  expect(await rebuilt.hello({ attributes: reported })).toMatchObject({
    status: "refused",
    error: { code: "name_taken" },
  });

  const shown = (await fluxrig(["racks", "show", "rack-nyc-01", "--json"])).json<RackJson>();
  expect(shown.evidence?.conflicts.map((c) => c.claimed_public_key)).toEqual([rebuilt.publicKey]);
  const fingerprint = shown.evidence?.conflicts[0]?.claimed_key_fingerprint ?? "";
  // Where the claim came from: the addresses the claimant reported in its signed hello, labelled as its own claim.
  expect(shown.evidence?.conflicts[0]?.last_source).toBe("10.9.8.7, fd00::9 (reported by the Rack)");
  const page = await fluxrig(["racks", "show", "rack-nyc-01"]);
  expect(page.stdout).toMatch(/^conflicts +1 other key\(s\) claimed this name$/m);
  expect(page.stdout).toContain(fingerprint);
  expect(page.stderr).toContain("fluxrig racks replace rack-nyc-01");

  const conflicts = await fluxrig(["racks", "conflicts"]);
  expect(conflicts.code).toBe(0);
  expect(conflicts.stdout.split("\n")[1]).toMatch(
    new RegExp(`^rack-nyc-01 +${fingerprint.replace(/[+/]/g, "\\$&")} +1 `),
  );
  const named = (await fluxrig(["racks", "conflicts", "rack-nyc-01", "--json"])).json<{ items: unknown[] }>();
  expect(named.items).toHaveLength(1);

  const replaced = await fluxrig(["racks", "replace", "rack-nyc-01", "--keep-machine-id", "--json"]);
  expect(replaced.code).toBe(0);
  const { old: was, new: now } = replaced.json<{ old: RackJson; new: RackJson }>();
  expect(was).toMatchObject({ status: "revoked", attributes: { public_key: old.publicKey } });
  expect(now).toMatchObject({ status: "active", machine_id: was.machine_id, key_fingerprint: fingerprint });
  // The new Rack's row holds what its key reported in its refused hello: adopted attributes never change later.
  expect(now.attributes).toEqual({ ...newHost, public_key: rebuilt.publicKey });
  expect(now.version).toBe("0.0.0-test");
  expect(now.passport?.serial).toBe(1);

  // The new key's hello now gets the name, active, with the passport the command printed (not a second serial).
  const reply = await rebuilt.hello({ attributes: reported });
  expect(reply).toMatchObject({ status: "active", machine_id: was.machine_id, passport: expect.any(Object) });
  expect(decodePassportPayload(reply.passport!).serial).toBe(1);
  const shownNew = (await fluxrig(["racks", "show", "rack-nyc-01", "--json"])).json<RackJson>();
  expect(shownNew.passport?.serial).toBe(1);
  expect(shownNew.evidence?.last_source).toBe("10.9.8.7, fd00::9 (reported by the Rack)");
  // The audit log agrees: since the new key's row was created, one passport, serial 1.
  const { items } = (await fluxrig(["events", "--json"])).json<{ items: AuditEvent[] }>();
  const created = items.findIndex((e) => e.kind === "rack_enrolled" && e.cause === "replaced");
  const issued = items.slice(created).filter((e) => e.kind === "passport_issued");
  expect(issued.map((e) => e.details?.serial)).toEqual([1]);
  const after = await fluxrig(["racks", "conflicts", "rack-nyc-01"]);
  expect(after).toMatchObject({ code: 0, stdout: "", stderr: "no conflicts for rack-nyc-01\n" });
  const again = await fluxrig(["racks", "replace", "rack-nyc-01"]);
  expect(again.code).toBe(1);
  expect(again.stderr).toBe("error: no other key has claimed rack-nyc-01 (not_found)\n");
});
