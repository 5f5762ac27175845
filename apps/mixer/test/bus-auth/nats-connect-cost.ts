// What one connection costs nats-server to authenticate (issue 14's herd): N LightNats connections (128 handshakes in
// flight) to one nats-server, with a Rack's user JWT and nonce signature (jwt) or anonymous (none); prints nats-server's
// and this process's CPU per connect, and writes nats-server's Go CPU profile (prof_port, /debug/pprof/profile) to
// OUT for reading with `go tool pprof` or any pprof reader. Not a test: run it by hand,
//   pnpm exec tsx --conditions=@fluxrig/source apps/mixer/test/bus-auth/nats-connect-cost.ts jwt 3000 8 /tmp/nats-jwt.pprof
// (arguments: jwt|none, connections, profile seconds (0: none), profile file). IN_FLIGHT (default 128) handshakes run at
// once; EXTRA_NATS is appended to nats-server's config (e.g. 'authorization { timeout: 10 }'). A refused or timed-out
// connect is retried as a Rack's reconnect is (0.5 s doubling, +-20%) and counted by reason.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateKeyPair, nonceAuthenticator, publicKeyToBase64url } from "@fluxrig/passport";
import { freePort, LightNats, startNatsServer, tempDir } from "@fluxrig/testkit";
import { rackInboxPrefix } from "@fluxrig/wire";
import { cpuMs } from "../../../../bench/swarm/proc-stats.js";
import { issueUserJwt } from "../../src/bus-auth/issue-jwt.js";
import { loadBusKeys } from "../../src/bus-auth/key-store.js";
import { rackPermissions } from "../../src/bus-auth/permissions.js";
import { natsResolverConfig } from "../../src/bus-auth/resolver-config.js";
import { fleetAccountJwt, operatorJwt, systemAccountJwt } from "../../src/bus-auth/trust-chain.js";

const mode = process.argv[2] ?? "jwt";
const N = Number(process.argv[3] ?? 3000);
const dir = tempDir("connect-cost");
const keys = await loadBusKeys(dir.path);
const now = Math.floor(Date.now() / 1000);
const prof = await freePort();
const config =
  mode === "jwt"
    ? natsResolverConfig({
        operatorJwt: operatorJwt(keys, now),
        systemAccount: keys.system.nkey,
        preload: {
          [keys.system.nkey]: systemAccountJwt(keys, now),
          [keys.fleet.nkey]: fleetAccountJwt(keys, { revocations: {}, nowSeconds: now }),
        },
        resolverDir: join(dir.path, "jwt"),
      })
    : "";
const nats = await startNatsServer({
  jetstream: false,
  extraConfig: `${config}\nprof_port: ${prof}\n${process.env.EXTRA_NATS ?? ""}\n`,
});
const racks = Array.from({ length: N }, (_, i) => {
  const privateKey = generateKeyPair().privateKey;
  const name = `cc-${i}`;
  const publicKey = publicKeyToBase64url(privateKey);
  const jwt = issueUserJwt({
    signer: keys.fleetSigning,
    account: keys.fleet.nkey,
    publicKey,
    name,
    permissions: rackPermissions({ name, status: "active" }),
    ttlSeconds: 3600,
    nowSeconds: now,
  }).jwt;
  return { name, privateKey, jwt };
});
const url = new URL(nats.url);
const profileSeconds = Number(process.argv[4] ?? 6);
// Caught at once: with thousands of connections arriving, the profile request itself may be cut.
const profP: Promise<Buffer | undefined> =
  profileSeconds > 0
    ? fetch(`http://127.0.0.1:${prof}/debug/pprof/profile?seconds=${profileSeconds}`)
        .then(async (r) => Buffer.from(await r.arrayBuffer()))
        .catch((error: unknown) => {
          console.log(`no profile: ${String(error)}`);
          return undefined;
        })
    : Promise.resolve(undefined);
const n0 = cpuMs(nats.pid)!;
const g0 = process.cpuUsage();
const t0 = performance.now();
const conns: LightNats[] = [];
/** Failed connects by reason (each retried as a Rack does). */
const refused = new Map<string, number>();
let next = 0;
await Promise.all(
  Array.from({ length: Number(process.env.IN_FLIGHT ?? 128) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= N) return;
      const r = racks[i]!;
      for (let attempt = 1; ; attempt++) {
        try {
          conns.push(
            await LightNats.connect({
              host: url.hostname,
              port: Number(url.port),
              name: r.name,
              ...(mode === "jwt"
                ? { auth: nonceAuthenticator({ privateKey: r.privateKey, jwt: () => r.jwt }) }
                : {}),
              inboxPrefix: rackInboxPrefix(r.name),
            }),
          );
          break;
        } catch (error) {
          const why = String((error as Error).message).slice(0, 60);
          refused.set(why, (refused.get(why) ?? 0) + 1);
          // As a Rack's reconnect: 0.5 s doubling, +-20%.
          await new Promise((resolve) =>
            setTimeout(resolve, 500 * 2 ** (attempt - 1) * (0.8 + Math.random() * 0.4)),
          );
        }
      }
    }
  }),
);
const ms = performance.now() - t0;
const n1 = cpuMs(nats.pid)!;
const g = process.cpuUsage(g0);
console.log(
  `${mode}: ${N} connects in ${Math.round(ms)} ms; nats-server ${Math.round(((n1 - n0) * 1000) / N)} us/connect, generator ${Math.round((g.user + g.system) / N)} us/connect; retried: ${JSON.stringify([...refused])}`,
);
const buf = await profP;
if (buf !== undefined) writeFileSync(process.argv[5] ?? `nats-${mode}.pprof`, buf);
await Promise.all(conns.map((c) => c.close()));
await nats.stop();
await dir.remove();
