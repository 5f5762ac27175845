// `fluxrig racks expect` against a real Mixer: the expected key is adopted on its first hello; any other key claiming
// the name is a name conflict, never adopted, not even by a scenario or an enrollment token; forgetting the
// expectation lets the name be adopted as before.
import { keyFingerprint } from "@fluxrig/passport";
import { MixerHarness, ScriptedRack } from "@fluxrig/testkit";
import { expect, test } from "vitest";
import { cliFor } from "./support/fluxrig-cli.js";

test("racks expect: that key is adopted at once, another key claiming the name is a conflict and never adopted", async () => {
  await using h = await MixerHarness.create();
  const fluxrig = cliFor(h);
  const nc = await h.client();
  const real = new ScriptedRack(nc, "rack-exp-1").listen();
  const impostor = new ScriptedRack(nc, "rack-exp-1").listen();
  const realFp = keyFingerprint(real.publicKey);

  const set = await fluxrig(["racks", "expect", "rack-exp-1", "--key", realFp, "--reason", "shipped"]);
  expect(set.code, set.stderr).toBe(0);
  expect(set.stdout).toBe(`rack-exp-1: adopted only with key ${realFp}\n`);
  const listed = await fluxrig(["racks", "expected", "--json"]);
  expect(listed.json()).toEqual([expect.objectContaining({ name: "rack-exp-1", key_fingerprint: realFp })]);

  // The impostor comes first, even with a valid enrollment token for the name: refused, recorded as a conflict.
  const token = await h.api<{ secret: string }>("/api/v1/enrollment-tokens", {
    method: "POST",
    json: { pattern: "rack-exp-*", uses: 5, expires_in_seconds: 3600 },
  });
  const first = await impostor.hello({ enrollmentToken: token.body.secret });
  expect(first.status).toBe("refused");
  expect(first.error?.code).toBe("name_taken");
  const conflicts = (await fluxrig(["racks", "conflicts", "--json"])).json<{
    items: Array<{ name: string; claimed_key_fingerprint: string }>;
  }>();
  expect(conflicts.items).toContainEqual(
    expect.objectContaining({
      name: "rack-exp-1",
      claimed_key_fingerprint: keyFingerprint(impostor.publicKey),
    }),
  );

  // The expected key: adopted on its first hello, with cause expected_key.
  const adopted = await real.hello();
  expect(adopted.status).toBe("active");
  expect(adopted.passport).toBeDefined();
  const events = (await fluxrig(["events", "--rack", "rack-exp-1", "--json"])).json<{
    items: Array<{ kind: string; cause: string; to_status: string | null }>;
  }>();
  expect(events.items).toContainEqual(
    expect.objectContaining({ kind: "status_changed", to_status: "active", cause: "expected_key" }),
  );

  // A Rack that enrolled pending before its name got an expectation, with another key: an operator cannot adopt it
  // (409, the rule lives in the activation plan), and it stays pending.
  const early = new ScriptedRack(nc, "rack-exp-2").listen();
  expect((await early.hello()).status).toBe("pending");
  const other = new ScriptedRack(nc, "rack-exp-other").listen();
  expect(
    (await fluxrig(["racks", "expect", "rack-exp-2", "--key", keyFingerprint(other.publicKey)])).code,
  ).toBe(0);
  const refused = await fluxrig(["racks", "adopt", "rack-exp-2"]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("may only be adopted with key");
  expect((await early.hello({ enrollmentToken: token.body.secret })).status).toBe("pending");
  // Nor does a scenario naming it: the activation succeeds, adopts the other Racks it names, and leaves it pending.
  const bystander = new ScriptedRack(nc, "rack-exp-3").listen();
  expect((await bystander.hello()).status).toBe("pending");
  const yaml = "meta: { name: exp, version: 1 }\nracks:\n  - name: rack-exp-2\n  - name: rack-exp-3\n";
  const imported = await h.api("/api/v1/scenarios", {
    method: "POST",
    body: yaml,
    headers: { "content-type": "application/yaml" },
  });
  expect(imported.status, JSON.stringify(imported.body)).toBe(200);
  const activation = await h.api<{ activation: { adopted: string[]; waiting: string[] } }>(
    "/api/v1/scenarios/exp/activate",
    { method: "POST" },
  );
  expect(activation.status, JSON.stringify(activation.body)).toBe(200);
  expect(activation.body.activation.adopted).toEqual(["rack-exp-3"]);
  expect(activation.body.activation.waiting).toEqual(["rack-exp-2"]);
  expect((await fluxrig(["racks", "show", "rack-exp-2", "--json"])).json<{ status: string }>().status).toBe(
    "pending",
  );

  // A scenario's racks entry may carry the key: activation records it, the impostor is refused, the key adopted.
  const lab = new ScriptedRack(nc, "rack-exp-4").listen();
  const labImpostor = new ScriptedRack(nc, "rack-exp-4").listen();
  const labFp = keyFingerprint(lab.publicKey);
  const keyed = `meta: { name: keyed, version: 1 }\nracks:\n  - { name: rack-exp-4, key: "${labFp}" }\n`;
  const importedKeyed = await h.api("/api/v1/scenarios", {
    method: "POST",
    body: keyed,
    headers: { "content-type": "application/yaml" },
  });
  expect(importedKeyed.status, JSON.stringify(importedKeyed.body)).toBe(200);
  expect((await h.api("/api/v1/scenarios/keyed/activate", { method: "POST" })).status).toBe(200);
  expect((await labImpostor.hello()).error?.code).toBe("name_taken");
  expect((await lab.hello()).status).toBe("active");
  expect((await fluxrig(["racks", "expected", "--json"])).json()).toContainEqual(
    expect.objectContaining({ name: "rack-exp-4", key_fingerprint: labFp }),
  );

  // Forgotten: the pending Rack can be adopted again.
  const forgot = await fluxrig(["racks", "expect", "rack-exp-2", "--forget"]);
  expect(forgot.code, forgot.stderr).toBe(0);
  expect((await fluxrig(["racks", "adopt", "rack-exp-2"])).code).toBe(0);
  expect((await fluxrig(["racks", "expect", "rack-exp-2", "--forget"])).code).toBe(1);

  // Checked locally (exit 2): a bad fingerprint, neither or both of --key and --forget.
  expect((await fluxrig(["racks", "expect", "rack-exp-3", "--key", "SHA256:short"])).code).toBe(2);
  expect((await fluxrig(["racks", "expect", "rack-exp-3"])).code).toBe(2);
  expect((await fluxrig(["racks", "expect", "rack-exp-3", "--key", realFp, "--forget"])).code).toBe(2);
});
