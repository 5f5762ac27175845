// `fluxrig racks adopt --expect-key` against a real Mixer: the key the operator checked is the one adopted, or
// nothing is (409 conflict, exit 1), with both fingerprints in the message.
import { keyFingerprint } from "@fluxrig/passport";
import { MixerHarness, ScriptedRack } from "@fluxrig/testkit";
import { expect, test } from "vitest";
import { cliFor } from "./support/fluxrig-cli.js";

test("racks adopt --expect-key adopts the Rack with that key and refuses one with another", async () => {
  await using h = await MixerHarness.create();
  const fluxrig = cliFor(h);
  const nc = await h.client();
  const right = new ScriptedRack(nc, "rack-ek-1").listen();
  const wrong = new ScriptedRack(nc, "rack-ek-2").listen();
  expect((await right.hello()).status).toBe("pending");
  expect((await wrong.hello()).status).toBe("pending");
  const rightFp = keyFingerprint(right.publicKey);
  const shown = (await fluxrig(["racks", "show", "rack-ek-1", "--json"])).json<{ key_fingerprint: string }>();
  expect(shown.key_fingerprint).toBe(rightFp);

  // The fingerprint of rack-ek-1 does not adopt rack-ek-2: 409, exit 1, both keys named, still pending.
  const refused = await fluxrig(["racks", "adopt", "rack-ek-2", "--expect-key", rightFp]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain(rightFp);
  expect(refused.stderr).toContain(keyFingerprint(wrong.publicKey));
  const viaApi = await h.api<{ error: { code: string } }>("/api/v1/racks/rack-ek-2/adopt", {
    method: "POST",
    json: { expect_key: rightFp },
  });
  expect(viaApi.status).toBe(409);
  expect(viaApi.body.error.code).toBe("conflict");
  expect((await fluxrig(["racks", "show", "rack-ek-2", "--json"])).json<{ status: string }>().status).toBe(
    "pending",
  );

  const adopted = await fluxrig(["racks", "adopt", "rack-ek-1", "--expect-key", rightFp, "--json"]);
  expect(adopted.code, adopted.stderr).toBe(0);
  expect(adopted.json<Array<{ status: string }>>()[0]?.status).toBe("active");

  // Checked locally: a malformed fingerprint, or one key for several Racks, never reaches the Mixer (exit 2).
  expect((await fluxrig(["racks", "adopt", "rack-ek-2", "--expect-key", "abc"])).code).toBe(2);
  expect((await fluxrig(["racks", "adopt", "rack-ek-1", "rack-ek-2", "--expect-key", rightFp])).code).toBe(2);
});
