import { generateKeyPair } from "@fluxrig/passport";
import { describe, expect, it } from "vitest";
import { jwtSigner } from "./jwt-codec.js";
import { BUS_KEY_FILES, type BusKeys } from "./key-store.js";
import { natsResolverConfig } from "./resolver-config.js";
import { fleetAccountJwt, operatorJwt, systemAccountJwt } from "./trust-chain.js";

function memoryKeys(): BusKeys {
  const entries = Object.entries(BUS_KEY_FILES).map(([name, { role }]) => [
    name,
    jwtSigner(generateKeyPair().privateKey, role),
  ]);
  return { ...(Object.fromEntries(entries) as Omit<BusKeys, "dir" | "created">), dir: "", created: [] };
}

describe("natsResolverConfig", () => {
  const keys = memoryKeys();
  const now = 1_790_000_000;
  const input = {
    operatorJwt: operatorJwt(keys, now),
    systemAccount: keys.system.nkey,
    preload: {
      [keys.system.nkey]: systemAccountJwt(keys, now),
      [keys.fleet.nkey]: fleetAccountJwt(keys, { revocations: {}, nowSeconds: now }),
    },
    resolverDir: "/var/lib/nats/jwt",
  };

  it("writes JWT mode with the full resolver and both accounts preloaded", () => {
    const text = natsResolverConfig(input);
    expect(text).toContain(`operator: ${input.operatorJwt}\n`);
    expect(text).toContain(`system_account: ${keys.system.nkey}\n`);
    expect(text).toMatch(/resolver: \{\n(.*\n)*\s+type: full\n(.*\n)*\s+dir: "\/var\/lib\/nats\/jwt"\n/);
    expect(text).toContain("allow_delete: false");
    expect(text).toContain(`  ${keys.fleet.nkey}: ${input.preload[keys.fleet.nkey]}\n`);
    // Every setting comes with the reason for it.
    expect(text.split("\n").filter((l) => l.trim().startsWith("#")).length).toBeGreaterThanOrEqual(8);
  });

  it("refuses a config without the system account preloaded, or with something that is not a JWT", () => {
    expect(() => natsResolverConfig({ ...input, preload: {} })).toThrow(/system account/);
    expect(() => natsResolverConfig({ ...input, operatorJwt: "nope" })).toThrow(/not a JWT/);
  });
});
