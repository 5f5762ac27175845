// `fluxrig enroll-tokens` against a real Mixer: the secret printed once on stdout adopts a matching Rack on its first
// hello; list shows uses and state without secrets; revoke ends it; bad arguments never reach the Mixer.
import { MixerHarness, ScriptedRack } from "@fluxrig/testkit";
import { expect, test } from "vitest";
import { cliFor } from "./support/fluxrig-cli.js";

test("enroll-tokens create prints a secret that adopts a matching Rack; list and revoke", async () => {
  await using h = await MixerHarness.create();
  const fluxrig = cliFor(h);

  const created = await fluxrig([
    "enroll-tokens",
    "create",
    "--pattern",
    "edge-*",
    "--uses",
    "1",
    "--expires",
    "24h",
  ]);
  expect(created.code, created.stderr).toBe(0);
  const secret = created.stdout.trim();
  expect(secret).toMatch(/^fet_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
  expect(created.stderr).toContain("shown only now");
  const id = secret.slice(4, 16);

  const nc = await h.client();
  const edge = new ScriptedRack(nc, "edge-cli-1").listen();
  expect((await edge.hello({ enrollmentToken: secret })).status).toBe("active");
  const second = new ScriptedRack(nc, "edge-cli-2").listen();
  expect((await second.hello({ enrollmentToken: secret })).status).toBe("pending");

  const listed = await fluxrig(["enroll-tokens", "list", "--json"]);
  expect(listed.json()).toEqual([
    expect.objectContaining({ id, pattern: "edge-*", used: 1, uses: 1, state: "used_up" }),
  ]);
  const table = await fluxrig(["enroll-tokens", "list"]);
  expect(table.stdout).toMatch(new RegExp(`${id}\\s+edge-\\*\\s+1/1\\s+\\S+\\s+used_up`));
  for (const out of [listed.stdout, table.stdout]) expect(out).not.toContain(secret);

  const events = (await fluxrig(["events", "--rack", "edge-cli-2", "--json"])).json<{
    items: Array<{ kind: string; details: Record<string, unknown> | null }>;
  }>();
  expect(events.items).toContainEqual(
    expect.objectContaining({ kind: "enrollment_token_refused", details: { token: id, reason: "used_up" } }),
  );

  const revoked = await fluxrig(["enroll-tokens", "revoke", id, "--reason", "done"]);
  expect(revoked.stdout).toBe(`revoked enrollment token ${id} (edge-*, used 1/1)\n`);
  expect((await fluxrig(["enroll-tokens", "revoke", id])).code).toBe(1);
  expect((await fluxrig(["enroll-tokens", "list"])).stderr).toContain("no enrollment tokens");

  // Refused locally (exit 2), before any request: a bad pattern, count, expiry or id.
  for (const args of [
    ["create", "--pattern", "Edge-*", "--uses", "1", "--expires", "1h"],
    ["create", "--pattern", "edge-*", "--uses", "0", "--expires", "1h"],
    ["create", "--pattern", "edge-*", "--uses", "1", "--expires", "10s"],
    ["create", "--pattern", "edge-*", "--uses", "1", "--expires", "24"],
    ["revoke", "not-an-id"],
  ]) {
    const r = await fluxrig(["enroll-tokens", ...args]);
    expect(r.code, args.join(" ")).toBe(2);
  }
});
