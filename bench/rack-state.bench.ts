// What cluster mode's Rack-state writes cost when a scenario reaches many Racks at once (docs/cluster.md, "Racks watch
// their own state"): `RackStateWriter` records one scenario push per Rack for N Racks (first write: a leader read and a
// create per key; second: an update by the revision it holds, no read), on one nats-server (R1) and on a 3-node
// loopback cluster (R3), JetStream `sync_interval: always` as in cluster mode. Then N Racks' direct gets of their own key.
//
// Run: pnpm exec tsx --conditions=@fluxrig/source bench/rack-state.bench.ts [--racks 1000]
// Writes bench-results/rack-state.json. Needs nats-server 2.10+ (NATS_SERVER_BIN or .tools/bin).

import { mkdirSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { killAllStarted, startNatsCluster, startNatsServer } from "@fluxrig/testkit";
import { RackStateWriter } from "../apps/mixer/src/fleet/rack-state-writer.js";
import { openRackStateBucket } from "../apps/mixer/src/kv/rack-state-bucket.js";
import { Counters } from "../apps/mixer/src/runtime/counters.js";
import { generateKeyPair } from "../packages/passport/src/index.js";

// The root has no direct dependency on the client, the wire package or pino: their types through the writer's.
type NatsConnection = Parameters<typeof openRackStateBucket>[0];
type WriterOptions = ConstructorParameters<typeof RackStateWriter>[0];
type ScenarioPush = Extract<Parameters<RackStateWriter["record"]>[1], { scenario: unknown }>["scenario"];
const silent = { warn: () => undefined } as unknown as WriterOptions["logger"];
const directGet = (name: string) => `$JS.API.DIRECT.GET.KV_fluxrig_rack_state.$KV.fluxrig_rack_state.${name}`;

// Other suites' options (`pnpm bench` passes its arguments to every script) are ignored.
const { values: args } = parseArgs({
  options: { racks: { type: "string", default: "1000" } },
  strict: false,
});
const RACKS = Number(args.racks ?? "1000");
const figures: Array<{ name: string; value: number; unit: string; note: string }> = [];
const figure = (name: string, count: number, ms: number, unit: string, note = "") => {
  const value = Math.round((count * 1000) / ms);
  figures.push({ name, value, unit, note: `${count} in ${(ms / 1000).toFixed(2)} s${note}` });
  console.log(`${name}: ${count} in ${(ms / 1000).toFixed(2)} s = ${value} ${unit}${note}`);
};
if (!Number.isInteger(RACKS) || RACKS < 1) throw new Error("--racks must be a positive integer");

const push = (version: number): ScenarioPush => ({
  v: 1,
  scenario: { name: "line", version: String(version) },
  gears: [
    { name: "tick", type: "ticker", config: { interval: "1s" } },
    { name: "count", type: "counter", config: { every: 100 } },
  ],
  wires: [{ name: "feed", from: "tick.out", to: "count.in", subject: "fluxrig.msg.line.feed" }],
  ts: new Date().toISOString(),
});

async function measure(label: string, replicas: 1 | 3, nc: NatsConnection): Promise<void> {
  const key = generateKeyPair();
  const counters = new Counters();
  const writer = new RackStateWriter({
    bucket: await openRackStateBucket(nc, { replicas, writerId: "bench" }),
    clusterKey: { ...key, kid: "ed25519:bench00000000000" },
    logger: silent,
    counters,
  });
  const names = Array.from({ length: RACKS }, (_, i) => `rack-${i}`);
  for (const [round, what] of [
    [1, "first write (read + create)"],
    [2, "next write (update by revision)"],
  ] as const) {
    const started = performance.now();
    for (const name of names) writer.record(name, { scenario: push(round) });
    await writer.settled();
    const ms = performance.now() - started;
    figure(`${label}: ${what}`, RACKS, ms, "writes/s", `, ${counters.get("rack_state.failed")} failed`);
  }
  const started = performance.now();
  await Promise.all(names.map((name) => nc.request(directGet(name), new Uint8Array(), { timeout: 10_000 })));
  const ms = performance.now() - started;
  figure(`${label}: direct gets of each Rack's own key`, RACKS, ms, "reads/s");
}

try {
  const one = await startNatsServer({ syncInterval: "always" });
  await measure("R1, one node", 1, await one.connect());
  await one.stop();
  const cluster = await startNatsCluster({ nodes: 3, syncInterval: "always" });
  await measure("R3, 3-node cluster", 3, await cluster.connect());
  await cluster.stop();
  mkdirSync("bench-results", { recursive: true });
  writeFileSync(
    "bench-results/rack-state.json",
    `${JSON.stringify({ suite: "rack-state", figures }, null, 2)}\n`,
  );
} finally {
  await killAllStarted();
}
