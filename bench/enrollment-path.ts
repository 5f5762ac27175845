// The Mixer's CPU per new enrollment on its own path, off the bus: HelloHandler.handle (decode, Ed25519 check, nonce,
// the registry write through the group-commit writer into a real DuckDB file with its audit events, the passport
// signed, the "rack enrolled" log line, on the JWT bus the Rack's credential and the sealed reply) and the reply as the
// hello subscription sends it (encoded, signed with the Cluster Key). Hellos are made and signed beforehand, as the
// Racks do, and handed in waves of `--wave` at once (the writer's batch: about 100 in the swarm at 10,000 Racks,
// 256 hellos in flight). /proc CPU of the whole process (DuckDB's threads included) and of the main thread, per Rack,
// over `--racks` Racks after a warm-up of 1,000. The log is the Mixer's own logger (runtime/logger.ts, JSON lines on
// stdout, one "rack enrolled" line per Rack): send stdout to /dev/null; the result goes to stderr. It leaves out
// nats-server, the generator and the heartbeats that share the cores in the swarm, but still moves with the
// machine's load (579 to 728 us per Rack for one build at load 3 to 4): compare two builds by running each,
// alternated, several times.
//
// Run: pnpm exec tsx --conditions=@fluxrig/source bench/enrollment-path.ts [--auth none|jwt] [--racks 5000] [--wave 100] [--log info|warn] >/dev/null
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type BusCredentials, OPEN_BUS } from "../apps/mixer/src/bus-auth/bus-credentials.js";
import { JwtBusCredentials } from "../apps/mixer/src/bus-auth/bus-credentials-jwt.js";
import { controlSigner } from "../apps/mixer/src/bus-auth/control-signing.js";
import { loadBusKeys } from "../apps/mixer/src/bus-auth/key-store.js";
import { HelloHandler } from "../apps/mixer/src/enrollment/hello-handler.js";
import { PassportIssuer } from "../apps/mixer/src/passports/passport-issuer.js";
import type { PresenceTracker } from "../apps/mixer/src/presence/presence-tracker.js";
import { systemClock } from "../apps/mixer/src/runtime/counters.js";
import { createLogger } from "../apps/mixer/src/runtime/logger.js";
import {
  DAY,
  openLifecycleHarness,
  TEST_CLUSTER_KEY,
} from "../apps/mixer/test/support/lifecycle-test-harness.js";
import { generateKeyPair, generateReplyKey, publicKeyToBase64url } from "../packages/passport/src/index.js";
import { encodeMessage, type HelloRequest, signHello } from "../packages/wire/src/index.js";

const { values: args } = parseArgs({
  options: {
    auth: { type: "string", default: "none" },
    racks: { type: "string", default: "5000" },
    wave: { type: "string", default: "100" },
    /** The enrollment logger's level: `warn` prices the "rack enrolled" line by its absence. */
    log: { type: "string", default: "info" },
  },
});
const auth = args.auth === "jwt" ? "jwt" : "none";
const RACKS = Number(args.racks);
const WAVE = Number(args.wave);
const WARMUP = 1_000;

const busDir = mkdtempSync(join(tmpdir(), "fluxrig-enroll-path-"));
const credentials: BusCredentials =
  auth === "jwt"
    ? new JwtBusCredentials({
        keys: await loadBusKeys(busDir),
        // issue never touches the bus.
        system: {} as ConstructorParameters<typeof JwtBusCredentials>[0]["system"],
        revocations: () => new Map(),
        rackTtlSeconds: 86_400,
        pendingTtlSeconds: 3_600,
        logger: createLogger({ level: "silent" }),
      })
    : OPEN_BUS;
const h = await openLifecycleHarness({ clock: systemClock, credentials });
const logger = createLogger({ level: args.log === "warn" ? "warn" : "info" }).child({
  component: "enrollment",
});
// A new Rack's hello never reaches presence (only a known key's does): any use would be a change of path.
const presence = new Proxy({} as PresenceTracker, {
  get: () => {
    throw new Error("a new enrollment touched presence");
  },
});
const handler = new HelloHandler({
  directory: h.directory,
  lifecycle: h.lifecycle,
  issuer: new PassportIssuer({
    clusterKey: TEST_CLUSTER_KEY,
    cluster: "mixer-1",
    ttlMs: DAY,
    skewMs: 120_000,
  }),
  presence,
  clusterKey: TEST_CLUSTER_KEY,
  scenarioNames: () => new Set(),
  scenarioPush: () => null,
  credentials,
  clock: systemClock,
  counters: h.counters,
  logger,
  options: {
    autoAdopt: true,
    maxPending: 1_000,
    machineIdMin: 1,
    machineIdMax: 65_535,
    clockSkewMs: 300_000,
    heartbeatIntervalMs: 1_000,
  },
});
const sign = controlSigner(TEST_CLUSTER_KEY);

// The Racks' side, before the clock starts: keys, signed hellos (sealed on the JWT bus, as on the bootstrap inbox).
const total = WARMUP + RACKS;
const hellos: Uint8Array[] = [];
for (let i = 0; i < total; i++) {
  const keys = generateKeyPair();
  const name = `ep-${String(i).padStart(5, "0")}`;
  const unsigned: Omit<HelloRequest, "sig"> = {
    v: 1,
    name,
    public_key: publicKeyToBase64url(keys.publicKey),
    version: "0.0.0-test",
    attributes: { hostname: `${name}-host`, os: "linux", arch: "x64", mac: ["02:00:00:00:00:01"] },
    nonce: randomBytes(16).toString("base64url"),
    ts: new Date().toISOString(),
    ...(auth === "jwt" ? { reply_key: generateReplyKey().publicKey } : {}),
  };
  hellos.push(encodeMessage(signHello(unsigned, keys.privateKey)));
}
const replySubject = auth === "jwt" ? "_INBOX._bootstrap.x1" : "_INBOX.x1";

let next = 0;
let bad = 0;
async function enroll(count: number): Promise<void> {
  const end = next + count;
  while (next < end) {
    const wave = hellos.slice(next, Math.min(end, next + WAVE));
    next += wave.length;
    await Promise.all(
      wave.map(async (data) => {
        const reply = await handler.handle(data, { replySubject });
        const bytes = encodeMessage(reply);
        sign(bytes);
        if (reply.status !== "active") {
          bad++;
          if (bad === 1) console.error("not active:", JSON.stringify(reply));
        }
      }),
    );
  }
}

/** utime + stime of a /proc stat file, in us (clock ticks of 10 ms). */
function cpuUs(path: string): number {
  const fields = readFileSync(path, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

await enroll(WARMUP);
const load = loadavg()[0];
const main0 = cpuUs(`/proc/self/task/${process.pid}/stat`);
const all0 = cpuUs("/proc/self/stat");
const usage0 = process.cpuUsage();
const t0 = performance.now();
await enroll(RACKS);
const wallUs = (performance.now() - t0) * 1000;
const usage = process.cpuUsage(usage0);
const main = (cpuUs(`/proc/self/task/${process.pid}/stat`) - main0) / RACKS;
const all = (cpuUs("/proc/self/stat") - all0) / RACKS;
console.error(
  `enrollment path, auth ${auth}, log ${args.log}, ${RACKS} Racks in waves of ${WAVE}: ${((usage.user + usage.system) / RACKS).toFixed(0)} us CPU per Rack (process.cpuUsage); /proc: main thread ${main.toFixed(0)}, other threads ${(all - main).toFixed(0)}; wall ${(wallUs / RACKS).toFixed(0)} us per Rack; writer batches ${h.writer.stats.batches}, largest ${h.writer.stats.largestBatch}; not active: ${bad}; load ${load?.toFixed(1)} before, ${loadavg()[0]?.toFixed(1)} after`,
);
await h.close();
rmSync(busDir, { recursive: true, force: true });
if (bad > 0) process.exitCode = 1;
