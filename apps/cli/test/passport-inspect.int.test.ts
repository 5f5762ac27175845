// `fluxrig passport inspect` on a state.flux written from a real hello reply, offline (the Mixer is stopped first).
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generateKeyPair, publicKeyToBase64url, writeStateFlux } from "@fluxrig/passport";
import { MixerHarness, ScriptedRack, tempDir } from "@fluxrig/testkit";
import { expect, test } from "vitest";
import { cliFor, hexId, runFluxrig } from "./support/fluxrig-cli.js";

test("valid with the right cluster key (raw or cluster.pub); exit 1 with a reason for a wrong key or a tampered file", async () => {
  await using h = await MixerHarness.create();
  using dir = tempDir("cli-passport");
  const rack = new ScriptedRack(await h.client(), "rack-pp-01").listen();
  await rack.hello();
  expect((await cliFor(h)(["racks", "adopt", "rack-pp-01"])).code).toBe(0);
  const reply = await rack.hello();
  expect(reply.status).toBe("active");
  const statePath = join(dir.path, "state.flux");
  await writeStateFlux(statePath, reply.passport!);
  const clusterPub = join(h.dataDir, "cluster.pub");
  // Offline: no Mixer, and an API URL where nothing listens.
  await h.stop();
  const offline = { env: { FLUXRIG_API_URL: "http://127.0.0.1:9" } };

  const plain = await runFluxrig(["passport", "inspect", statePath], offline);
  expect(plain.code).toBe(0);
  expect(plain.stdout).toMatch(/^name +rack-pp-01$/m);
  expect(plain.stdout).toMatch(/^status +active$/m);
  expect(plain.stdout).toContain(`entity id   ${reply.entity_id} (${hexId(reply.entity_id!)})`);
  expect(plain.stdout).toMatch(new RegExp(`^machine id +${reply.machine_id}$`, "m"));
  expect(plain.stdout).toMatch(/^serial +1$/m);
  expect(plain.stdout).toMatch(/^issued +\S+Z \((just now|\d+s ago)\)$/m);
  expect(plain.stdout).toMatch(/^expires +\S+Z \(in \d+[hd]\)$/m);
  expect(plain.stdout).toMatch(/^signature +not checked/m);

  const raw = await runFluxrig(
    ["passport", "inspect", statePath, "--cluster-key", reply.cluster_public_key],
    offline,
  );
  expect(raw.code).toBe(0);
  expect(raw.stdout).toMatch(
    new RegExp(`^signature +valid: signed by cluster key ${reply.cluster_key_id}`, "m"),
  );
  const pem = await runFluxrig(
    ["passport", "inspect", statePath, "--cluster-key", clusterPub, "--json"],
    offline,
  );
  expect(pem.code).toBe(0);
  expect(pem.json()).toMatchObject({
    kid: reply.cluster_key_id,
    payload: { entity_id: reply.entity_id, name: "rack-pp-01", rack_public_key: rack.publicKey },
    verification: { checked: true, ok: true },
  });

  const wrongKey = publicKeyToBase64url(generateKeyPair().publicKey);
  const wrong = await runFluxrig(["passport", "inspect", statePath, "--cluster-key", wrongKey], offline);
  expect(wrong.code).toBe(1);
  expect(wrong.stdout).toMatch(/^signature +NOT VALID: signed by another cluster key/m);
  expect(wrong.stderr).toMatch(/^error: passport is not valid: .* \(passport_key_id_mismatch\)\n$/);

  // Push the expiry out by a year and keep the signature: what someone editing the file would do.
  const env = JSON.parse(await readFile(statePath, "utf8")) as { payload: string };
  const payload = JSON.parse(Buffer.from(env.payload, "base64url").toString("utf8")) as {
    expires_at: string;
  };
  payload.expires_at = new Date(Date.parse(payload.expires_at) + 365 * 86_400_000).toISOString();
  env.payload = Buffer.from(JSON.stringify(payload), "utf8").toString("base64url");
  await writeFile(statePath, `${JSON.stringify(env)}\n`);
  const tampered = await runFluxrig(["passport", "inspect", statePath, "--cluster-key", clusterPub], offline);
  expect(tampered.code).toBe(1);
  expect(tampered.stderr).toMatch(/altered after the Mixer signed it .*\(passport_signature_invalid\)\n$/);

  const missing = await runFluxrig(["passport", "inspect", join(dir.path, "nope.flux")], offline);
  expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/no such file \(not_found\)/) });
});
