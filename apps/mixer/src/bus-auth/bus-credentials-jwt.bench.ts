// Cost of a Rack's credential at hello: JwtBusCredentials.issue on a cache miss (sign a new JWT) and on a hit (the
// same grant within the first third of its life, as in a herd of session recoveries).
// Run: pnpm exec vitest bench --run --project unit apps/mixer/src/bus-auth/bus-credentials-jwt.bench.ts
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, publicKeyToBase64url } from "@fluxrig/passport";
import type { NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { bench, describe } from "vitest";
import { JwtBusCredentials } from "./bus-credentials-jwt.js";
import { loadBusKeys } from "./key-store.js";

const keys = await loadBusKeys(mkdtempSync(join(tmpdir(), "fluxrig-bench-bus-")));
const credentials = new JwtBusCredentials({
  keys,
  // issue never touches the bus.
  system: {} as NatsConnection,
  revocations: () => new Map(),
  rackTtlSeconds: 86_400,
  pendingTtlSeconds: 3_600,
  logger: pino({ level: "silent" }),
});
const makeRacks = (prefix: string) =>
  Array.from({ length: 1_024 }, (_, n) => ({
    name: `${prefix}-${n}`,
    status: "active" as const,
    publicKey: publicKeyToBase64url(generateKeyPair().publicKey),
  }));
const fresh = makeRacks("fresh");
const known = makeRacks("known");
const t0 = Date.now();
// Every known Rack holds a credential issued at t0: a session recovery at t0 finds it in its first third.
for (const rack of known) credentials.issue(rack, new Date(t0));
let i = 0;
let round = 0;

describe("Rack credential at hello", () => {
  bench("cache miss: a new JWT signed", () => {
    // Each pass over the Racks is 9 h later, past a third of an active JWT's day: every issue signs.
    if (i % fresh.length === 0) round += 1;
    credentials.issue(fresh[i++ % fresh.length]!, new Date(t0 + round * 9 * 3_600_000));
  });

  bench("cache hit: the same grant again (a herd of session recoveries)", () => {
    credentials.issue(known[i++ % known.length]!, new Date(t0));
  });
});
