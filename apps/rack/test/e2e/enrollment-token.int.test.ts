// A real Rack configured with an enrollment token is adopted on its first hello (issue 16 item 1); one whose name the
// token does not admit stays pending, and the operator sees why in the audit log.
import { MixerHarness, tempDir } from "@fluxrig/testkit";
import { describe, expect, test } from "vitest";
import { fastMixerEnv, spawnRack, waitForRack } from "./support/real-fleet.js";

interface Created {
  id: string;
  secret: string;
}

describe("enrollment token", () => {
  test("adopts a real Rack on its first hello; a name it does not admit stays pending with the reason", async () => {
    await using h = await MixerHarness.create({ env: fastMixerEnv() });
    const created = await h.api<Created>("/api/v1/enrollment-tokens", {
      method: "POST",
      json: { pattern: "edge-*", uses: 5, expires_in_seconds: 3600 },
    });
    expect(created.status).toBe(200);
    const { id, secret } = created.body;

    const name = "edge-real-01";
    await using state = tempDir(name);
    await using rack = spawnRack(h, {
      name,
      stateDir: state.path,
      env: { FLUXRIG_RACK_ENROLLMENT_TOKEN: secret },
    });
    const activated = await rack.waitForJson({ msg: /^lifecycle: enrolling -> active/ });
    expect(activated).toMatchObject({ event: "passport_accepted" });
    expect(rack.json().some((e) => e.to === "pending")).toBe(false);
    await waitForRack(h, name, (r) => r.status === "active", { message: "active" });

    const otherName = "core-real-01";
    await using otherState = tempDir(otherName);
    await using other = spawnRack(h, {
      name: otherName,
      stateDir: otherState.path,
      env: { FLUXRIG_RACK_ENROLLMENT_TOKEN: secret },
    });
    await other.waitForJson({ msg: /^lifecycle: enrolling -> pending/ });

    const events = await h.api<{
      items: Array<{
        kind: string;
        name: string | null;
        cause: string;
        details: Record<string, unknown> | null;
      }>;
    }>("/api/v1/events?limit=500");
    expect(events.body.items).toContainEqual(
      expect.objectContaining({
        kind: "enrollment_token_used",
        name,
        details: expect.objectContaining({ token: id }),
      }),
    );
    expect(events.body.items).toContainEqual(
      expect.objectContaining({
        kind: "enrollment_token_refused",
        name: otherName,
        details: { token: id, reason: "name_mismatch" },
      }),
    );
    // Neither process logged the secret.
    for (const out of [rack.output(), other.output(), h.mixer!.output()]) expect(out).not.toContain(secret);
  });

  test("on a JWT bus: the bootstrap hello carries the token, the Rack comes back as itself already adopted", async () => {
    await using h = await MixerHarness.create({ auth: "jwt", env: fastMixerEnv() });
    const created = await h.api<Created>("/api/v1/enrollment-tokens", {
      method: "POST",
      json: { pattern: "edge-jwt-*", uses: 1, expires_in_seconds: 3600 },
    });
    const name = "edge-jwt-01";
    await using state = tempDir(name);
    await using rack = spawnRack(h, {
      name,
      stateDir: state.path,
      env: { FLUXRIG_RACK_ENROLLMENT_TOKEN: created.body.secret },
    });
    await rack.waitForJson({ msg: /^lifecycle: enrolling -> active/ });
    await waitForRack(h, name, (r) => r.status === "active" && r.stats?.rack_status === "active", {
      message: "active with heartbeats",
    });
    // One use only: the hello on the bootstrap inbox spent it, the Rack's second hello (as itself) did not.
    const listed = await h.api<Array<{ used: number; uses: number }>>("/api/v1/enrollment-tokens");
    expect(listed.body).toEqual([expect.objectContaining({ used: 1, uses: 1 })]);
    expect(rack.output()).not.toContain(created.body.secret);
  });
});
