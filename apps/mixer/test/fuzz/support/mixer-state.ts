// What the Mixer holds, read through its API: the before/after picture every fuzz property compares.
import type { MixerHarness } from "@fluxrig/testkit";
import { waitFor } from "@fluxrig/testkit";
import { expect } from "vitest";
import type { PropertyRecord } from "./fuzz-record.js";

export interface RackRow {
  entity_id: string;
  name: string;
  status: string;
  machine_id: number;
  version: string;
  attributes: Record<string, unknown>;
  stats: Record<string, unknown> | null;
  last_seen: string | null;
  status_changed_at: string | null;
  key_fingerprint: string;
  passport: { serial: number; issued_at: string; expires_at: string } | null;
}

export interface AuditRow {
  seq: number;
  name: string | null;
  kind: string;
  cause: string;
  to_status: string | null;
}

export interface ConflictRow {
  name: string;
  claimed_public_key: string;
  attempts: number;
}

export interface MixerState {
  racks: Map<string, RackRow>;
  events: AuditRow[];
  conflicts: ConflictRow[];
  scenarios: unknown[];
  counters: Record<string, number>;
}

async function ok<T>(h: MixerHarness, path: string): Promise<T> {
  const res = await h.api<T>(path);
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function counters(h: MixerHarness): Promise<Record<string, number>> {
  return (await ok<{ counters: Record<string, number> }>(h, "/api/v1/cluster")).counters;
}

export async function racks(h: MixerHarness): Promise<Map<string, RackRow>> {
  const out = new Map<string, RackRow>();
  let after = "";
  for (;;) {
    const page = await ok<{ items: RackRow[]; next: string | null }>(h, `/api/v1/racks?limit=1000${after}`);
    for (const r of page.items) out.set(r.name, r);
    if (!page.next) return out;
    after = `&after=${page.next}`;
  }
}

export async function events(h: MixerHarness): Promise<AuditRow[]> {
  const out: AuditRow[] = [];
  let after = "";
  for (;;) {
    const page = await ok<{ items: AuditRow[]; next: string | null }>(h, `/api/v1/events?limit=1000${after}`);
    out.push(...page.items);
    if (!page.next) return out;
    after = `&after=${page.next}`;
  }
}

export async function snapshot(h: MixerHarness): Promise<MixerState> {
  return {
    racks: await racks(h),
    events: await events(h),
    conflicts: (await ok<{ items: ConflictRow[] }>(h, "/api/v1/conflicts")).items,
    scenarios: (await ok<{ items: unknown[] }>(h, "/api/v1/scenarios")).items,
    counters: await counters(h),
  };
}

/** The fields of a row that only a decision (not presence) may change. */
export function identity(r: RackRow): Omit<RackRow, "stats" | "last_seen"> {
  const { stats: _s, last_seen: _l, ...rest } = r;
  return rest;
}

/** How much a counter (or every counter with a prefix) grew between two snapshots. */
export function delta(before: Record<string, number>, after: Record<string, number>, prefix: string): number {
  let sum = 0;
  for (const [k, v] of Object.entries(after)) {
    if (k === prefix || k.startsWith(`${prefix}.`)) sum += v - (before[k] ?? 0);
  }
  return sum;
}

/** Counter deltas under a prefix, by name (only those that moved). */
export function deltas(
  before: Record<string, number>,
  after: Record<string, number>,
  prefix: string,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    if (!k.startsWith(prefix)) continue;
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

/** Rows whose decision fields differ (or that appeared or vanished), by name: what junk must never cause. */
export function changedRows(before: Map<string, RackRow>, after: Map<string, RackRow>): string[] {
  const changed: string[] = [];
  for (const name of new Set([...before.keys(), ...after.keys()])) {
    const a = before.get(name);
    const b = after.get(name);
    if (a === undefined || b === undefined) changed.push(name);
    else if (JSON.stringify(identity(a)) !== JSON.stringify(identity(b))) changed.push(name);
  }
  return changed.sort();
}

/** The Mixer process still runs, `/health` answers ok, and the API answers with the token. */
export async function assertAlive(h: MixerHarness): Promise<void> {
  expect(h.mixer?.running, "the Mixer process is still running").toBe(true);
  const health = await waitFor(
    async () => {
      const res = await fetch(`${h.apiUrl}/health`);
      return res.status === 200 ? ((await res.json()) as { status: string }) : undefined;
    },
    { timeoutMs: 10_000, message: "/health to answer" },
  );
  expect(health).toEqual({ status: "ok" });
}

/**
 * Runs one property against the Mixer: a snapshot, the attack (`body`), the file's checks on what changed, then
 * {@link assertAlive}. `rec.ok` is set only when all of that passed; a Mixer that died is counted either way.
 */
export async function runProperty<T>(
  h: MixerHarness,
  rec: PropertyRecord,
  body: () => Promise<T>,
  check: (before: MixerState, sent: T) => Promise<void>,
): Promise<void> {
  const before = await snapshot(h);
  try {
    await check(before, await body());
    await assertAlive(h);
    rec.ok = true;
  } finally {
    if (!h.mixer?.running) rec.crashes += 1;
  }
}
