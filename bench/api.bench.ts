// REST API at fleet size: listing 10,000 Racks (one page, the full list) and a bulk adopt of 1,000 pending Racks.
//
// Run: pnpm exec tsx --conditions=@fluxrig/source bench/api.bench.ts [--racks 10000] [--bulk 1000] [--page-runs 200]
// Needs the built binary (pnpm build, or pnpm bench which builds first). Writes bench-results/api.json.

import { mkdirSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { killAllStarted, MixerHarness, ScriptedRack } from "@fluxrig/testkit";

interface Figure {
  name: string;
  value: number;
  unit: string;
  note: string;
}

const { values: args } = parseArgs({
  options: {
    racks: { type: "string", default: "10000" },
    bulk: { type: "string", default: "1000" },
    "page-runs": { type: "string", default: "200" },
    "list-runs": { type: "string", default: "10" },
    concurrency: { type: "string", default: "256" },
  },
});
const int = (name: keyof typeof args): number => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
  return n;
};
const RACKS = int("racks");
const BULK = Math.min(int("bulk"), RACKS);
const PAGE_RUNS = int("page-runs");
const LIST_RUNS = int("list-runs");
const CONCURRENCY = int("concurrency");

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const figures: Figure[] = [];
  await using h = await MixerHarness.create({
    env: { FLUXRIG_ENROLLMENT_MAX_PENDING: String(RACKS + 10), FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: "60s" },
  });
  const connections = await Promise.all([h.client(), h.client(), h.client(), h.client()]);
  const racks = Array.from(
    { length: RACKS },
    (_, i) => new ScriptedRack(connections[i % connections.length]!, `rack-${String(i).padStart(6, "0")}`),
  );
  process.stderr.write(`enrolling ${RACKS} pending Racks...\n`);
  let next = 0;
  const enrollMs = await timed(async () => {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < racks.length) {
          const rack = racks[next++]!;
          const reply = await rack.hello();
          if (reply.status !== "pending")
            throw new Error(`${rack.name}: ${reply.status} ${reply.error?.message ?? ""}`);
        }
      }),
    );
  });
  process.stderr.write(`enrolled in ${(enrollMs / 1000).toFixed(1)} s\n`);

  // One page of 100, many times.
  const page: number[] = [];
  for (let i = 0; i < PAGE_RUNS; i++) {
    const after = racks[Math.floor(Math.random() * (RACKS - 100))]!.name;
    page.push(
      await timed(async () => {
        const res = await h.api<{ items: unknown[] }>(`/api/v1/racks?limit=100&after=${after}`);
        if (res.status !== 200 || res.body.items.length !== 100) throw new Error(`page: ${res.status}`);
      }),
    );
  }
  page.sort((a, b) => a - b);
  figures.push(
    {
      name: "list.page100.p50",
      value: round(percentile(page, 50)),
      unit: "ms",
      note: `GET /racks?limit=100 over ${RACKS} Racks, ${PAGE_RUNS} runs`,
    },
    { name: "list.page100.p99", value: round(percentile(page, 99)), unit: "ms", note: "target < 20 ms" },
  );

  // The full list, page by page (1,000 a page, the API's maximum).
  const full: number[] = [];
  for (let i = 0; i < LIST_RUNS; i++) {
    full.push(
      await timed(async () => {
        let after: string | null = null;
        let count = 0;
        do {
          const res: { status: number; body: { items: unknown[]; next: string | null } } = await h.api(
            `/api/v1/racks?limit=1000${after ? `&after=${after}` : ""}`,
          );
          count += res.body.items.length;
          after = res.body.next;
        } while (after);
        if (count !== RACKS) throw new Error(`full list: ${count} of ${RACKS}`);
      }),
    );
  }
  full.sort((a, b) => a - b);
  figures.push(
    {
      name: "list.full.p50",
      value: round(percentile(full, 50)),
      unit: "ms",
      note: `all ${RACKS} Racks in pages of 1,000, ${LIST_RUNS} runs`,
    },
    { name: "list.full.p99", value: round(percentile(full, 99)), unit: "ms", note: "" },
  );

  // Bulk adopt of BULK pending Racks by list, one request.
  const refs = racks.slice(0, BULK).map((r) => r.name);
  let adopted = 0;
  const bulkMs = await timed(async () => {
    const res = await h.api<{ adopted: unknown[] }>("/api/v1/racks/adopt", {
      method: "POST",
      json: { refs },
    });
    if (res.status !== 200) throw new Error(`bulk adopt: ${res.status} ${JSON.stringify(res.body)}`);
    adopted = res.body.adopted.length;
  });
  if (adopted !== BULK) throw new Error(`bulk adopt adopted ${adopted} of ${BULK}`);
  figures.push({
    name: "bulk_adopt",
    value: round(bulkMs),
    unit: "ms",
    note: `${BULK} pending Racks adopted with passports in one request; target < 2,000 ms`,
  });

  mkdirSync("bench-results", { recursive: true });
  writeFileSync("bench-results/api.json", `${JSON.stringify({ suite: "api", figures }, null, 2)}\n`);
  console.table(figures);
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => killAllStarted());
