// `fluxrig tokens` against a real Mixer, and a named token used by the CLI exactly like the bootstrap token.
import { MixerHarness, ScriptedRack } from "@fluxrig/testkit";
import { expect, test } from "vitest";
import { cliFor } from "./support/fluxrig-cli.js";

test("tokens create prints a secret the CLI then works with, within its role; revoke ends it", async () => {
  await using h = await MixerHarness.create();
  const fluxrig = cliFor(h);
  const rack = new ScriptedRack(await h.client(), "rack-tok-01").listen();
  expect((await rack.hello()).status).toBe("pending");

  const viewer = await fluxrig(["tokens", "create", "wallboard", "--role", "viewer"]);
  expect(viewer.code, viewer.stderr).toBe(0);
  const viewerSecret = viewer.stdout.trim();
  expect(viewerSecret).toMatch(/^frt_[A-Za-z0-9_-]{43}$/);
  const operator = await fluxrig(["tokens", "create", "bob", "--role", "operator"]);
  const operatorSecret = operator.stdout.trim();

  const as = (secret: string) => ({ env: { FLUXRIG_API_TOKEN: secret } });
  expect((await fluxrig(["racks", "list"], as(viewerSecret))).code).toBe(0);
  const refused = await fluxrig(["racks", "adopt", "rack-tok-01"], as(viewerSecret));
  expect(refused.code).toBe(4);
  expect(refused.stderr).toContain("needs the operator role");

  // The operator adopts; the audit log names bob, not the CLI's --actor label.
  expect(
    (await fluxrig(["racks", "adopt", "rack-tok-01", "--actor", "someone"], as(operatorSecret))).code,
  ).toBe(0);
  const events = (await fluxrig(["events", "--rack", "rack-tok-01", "--json"], as(viewerSecret))).json<{
    items: Array<{ kind: string; actor: string }>;
  }>();
  expect(events.items).toContainEqual(expect.objectContaining({ kind: "status_changed", actor: "bob" }));
  expect((await fluxrig(["tokens", "list"], as(operatorSecret))).code).toBe(4);

  const listed = await fluxrig(["tokens", "list", "--json"]);
  expect(listed.json<Array<{ name: string; role: string }>>().map((t) => [t.name, t.role])).toEqual([
    ["bob", "operator"],
    ["wallboard", "viewer"],
  ]);
  expect(listed.stdout).not.toContain("frt_");

  expect((await fluxrig(["tokens", "revoke", "wallboard"])).stdout).toBe(
    "revoked token wallboard (viewer)\n",
  );
  expect((await fluxrig(["racks", "list"], as(viewerSecret))).code).toBe(4);
  expect((await fluxrig(["tokens", "revoke", "wallboard"])).code).toBe(1);
});
