// The Mixer's own bus users: renewal keeps the key the connection's authenticator holds and moves the expiry.

import { tempDir } from "@fluxrig/testkit";
import { pino } from "pino";
import { afterEach, describe, expect, test } from "vitest";
import { decodeJwt } from "./jwt-codec.js";
import { loadBusKeys } from "./key-store.js";
import { MixerBusUsers } from "./mixer-bus-users.js";

const dirs: Array<{ remove(): Promise<void> }> = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await d.remove();
});

describe("MixerBusUsers", () => {
  test("renew re-issues both JWTs for the same keys, later, and the authenticators present the new ones", async () => {
    const dir = tempDir("mixer-users");
    dirs.push(dir);
    const keys = await loadBusKeys(dir.path);
    let now = Date.parse("2026-12-06T12:00:00Z");
    const users = new MixerBusUsers(keys, { logger: pino({ level: "silent" }), nowMs: () => now });
    try {
      const fleet = users.fleetAuthenticator();
      const system = users.systemAuthenticator();
      const before = { fleet: fleet("nonce"), system: system("nonce") };
      expect(decodeJwt(before.fleet.jwt).sub).toBe(before.fleet.nkey);
      expect(decodeJwt(before.system.jwt).iss).toBe(keys.system.nkey);
      expect(users.expiresAt).toBe(now / 1000 + 86_400);

      now += 16 * 3_600_000;
      users.renew();
      const after = { fleet: fleet("nonce"), system: system("nonce") };
      expect(after.fleet.nkey).toBe(before.fleet.nkey);
      expect(after.system.nkey).toBe(before.system.nkey);
      expect(after.fleet.jwt).not.toBe(before.fleet.jwt);
      expect(decodeJwt(after.fleet.jwt).sub).toBe(before.fleet.nkey);
      expect(decodeJwt(after.system.jwt).iat).toBe(now / 1000);
      expect(users.expiresAt).toBe(now / 1000 + 86_400);
    } finally {
      users.close();
    }
  });
});
