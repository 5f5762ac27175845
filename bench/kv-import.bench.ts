// Import rate of `fluxrig-mixer kv import` (apps/mixer/src/kv-command.ts): a registry of N Racks written by the real
// RegistryWriter into a real DuckDB file, imported into R1 (one nats-server) and R3 (a 3-node loopback cluster), both
// with JetStream `sync_interval: always` (cluster mode's setting); then verified. Records/s and CPU per record (this
// process, which runs the command, and all nats-servers together).
//
// Run: pnpm exec tsx --conditions=@fluxrig/source bench/kv-import.bench.ts [--racks 10000] [--in-flight 64]
// Writes bench-results/kv-import.json. Needs nats-server 2.10+ (NATS_SERVER_BIN or .tools/bin).

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { killAllStarted, startNatsCluster, startNatsServer, tempDir } from "@fluxrig/testkit";
import { loadMixerConfig } from "../apps/mixer/src/config.js";
import { openDatabase } from "../apps/mixer/src/db/duckdb-database.js";
import { migrate } from "../apps/mixer/src/db/migrate.js";
import { kvCommand } from "../apps/mixer/src/kv-command.js";
import { insertPlan, openTestWriter } from "../apps/mixer/test/support/registry-test-harness.js";
import { generateKeyPair, publicKeyToBase64url } from "../packages/passport/src/index.js";

const { values: args } = parseArgs({
  options: { racks: { type: "string", default: "10000" }, "in-flight": { type: "string", default: "64" } },
  allowPositionals: false,
});
const RACKS = Number(args.racks);
const IN_FLIGHT = Number(args["in-flight"]);
const CLOCK_TICKS_PER_S = 100;

function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}

async function buildRegistry(dataDir: string): Promise<void> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = await openDatabase({ path: join(dataDir, "registry.duckdb") });
  const now = new Date();
  await migrate(db, { now });
  const { writer } = await openTestWriter(db);
  const writes: Promise<unknown>[] = [];
  for (let n = 0; n < RACKS; n++) {
    // The raw Ed25519 key as base64url, as Racks present it.
    const publicKey = publicKeyToBase64url(generateKeyPair().publicKey);
    writes.push(writer.submit(insertPlan(n, now, { publicKey, name: `rack-${String(n).padStart(5, "0")}` })));
  }
  await Promise.all(writes);
  await writer.close();
  await db.checkpoint();
  await db.close();
}

async function main(): Promise<void> {
  await using dir = tempDir("kv-import-bench");
  const dataDir = join(dir.path, "data");
  const built = performance.now();
  await buildRegistry(dataDir);
  console.log(`registry of ${RACKS} Racks built in ${Math.round(performance.now() - built)} ms`);
  const figures: Array<{ name: string; value: number; unit: string; note: string }> = [];
  for (const replicas of [1, 3] as const) {
    const target =
      replicas === 1
        ? await startNatsServer({ syncInterval: "always" })
        : await startNatsCluster({ nodes: 3, syncInterval: "always" });
    try {
      const url = "nodes" in target ? target.urls[0]! : target.url;
      const pids = "nodes" in target ? target.nodes.map((n) => n.pid!) : [target.pid!];
      const { config } = await loadMixerConfig({
        env: { FLUXRIG_MIXER_DATA_DIR: dataDir, FLUXRIG_NATS_URL: url, FLUXRIG_NATS_AUTH: "none" },
      });
      for (const action of ["import", "verify"] as const) {
        const serverBefore = pids.reduce((s, pid) => s + processCpuMs(pid), 0);
        const clientBefore = process.cpuUsage();
        const started = performance.now();
        const result = await kvCommand({ action, config, dryRun: false, replicas, concurrency: IN_FLIGHT });
        const seconds = (performance.now() - started) / 1000;
        const client = process.cpuUsage(clientBefore);
        const serverMs = pids.reduce((s, pid) => s + processCpuMs(pid), 0) - serverBefore;
        // KV records and audit events (one enrollment event per Rack).
        const records = result.source.entries + result.source.auditEvents;
        if (
          result.action === "import" &&
          (result.report.conflicts.length > 0 || result.report.written.racks !== RACKS)
        ) {
          throw new Error(
            `import wrote ${result.report.written.racks} Racks with ${result.report.conflicts.length} conflicts`,
          );
        }
        if (
          result.audit.differences.length > 0 ||
          (result.action === "import" && result.audit.written !== RACKS)
        ) {
          throw new Error(
            `audit: ${result.audit.written} written, ${result.audit.differences.length} differences`,
          );
        }
        if (result.action === "verify" && result.report.differences.length > 0) {
          throw new Error(`verify found ${result.report.differences.length} differences`);
        }
        const line = {
          name: `kv ${action} R${replicas}`,
          value: Math.round(records / seconds),
          unit: "records/s",
          note: `${RACKS} Racks = ${records} records (${result.source.auditEvents} of them audit events) in ${seconds.toFixed(1)} s, ${IN_FLIGHT} in flight, sync_interval always; client CPU ${Math.round((client.user + client.system) / records)} us/record, nats-server CPU ${Math.round((serverMs * 1000) / records)} us/record (all servers)`,
        };
        console.log(`${line.name}: ${line.value} ${line.unit} (${line.note})`);
        figures.push(line);
      }
    } finally {
      await target.stop();
    }
  }
  mkdirSync("bench-results", { recursive: true });
  writeFileSync(
    "bench-results/kv-import.json",
    `${JSON.stringify({ when: new Date().toISOString(), figures }, null, 2)}\n`,
  );
}

main().then(
  () => process.exit(0),
  async (error: unknown) => {
    console.error(error);
    await killAllStarted();
    process.exit(1);
  },
);
