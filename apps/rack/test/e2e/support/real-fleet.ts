// The real fleet for end-to-end tests: a MixerHarness with fast presence, real fluxrig-rack processes, API reads.

import type { KeyObject } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { publicKeyFromBase64url } from "@fluxrig/passport";
import {
  type MixerHarness,
  type SpawnedProcess,
  spawnBinary,
  TEST_TOKEN,
  tempDir,
  waitFor,
} from "@fluxrig/testkit";
import { decodeHeartbeat, type Heartbeat, heartbeatSubject } from "@fluxrig/wire";

/** The heartbeat interval the Mixer hands out in these tests. */
export const HEARTBEAT_MS = 500;

/** Environment for a Mixer with fast presence: 500 ms heartbeats, presence flushed every 200 ms. */
export function fastMixerEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    FLUXRIG_PRESENCE_HEARTBEAT_INTERVAL: `${HEARTBEAT_MS}ms`,
    FLUXRIG_PRESENCE_FLUSH_INTERVAL: "200ms",
    // A loaded 2-core machine can stall a Rack for a second; do not call that "offline" in tests of other things.
    FLUXRIG_PRESENCE_MISSED_HEARTBEATS: "6",
    ...extra,
  };
}

/** Options of {@link spawnRack}. */
export interface SpawnRackOptions {
  name: string;
  stateDir: string;
  /** Extra or overriding FLUXRIG_* variables for the Rack. */
  env?: Record<string, string | undefined>;
  label?: string;
}

/**
 * Starts a real fluxrig-rack configured only by environment: NATS of the harness (with the bootstrap creds on a JWT
 * bus), OTLP to the Mixer's receiver with the test token, 300 ms exports, and the Mixer's heartbeat interval until its
 * first hello reply.
 */
export function spawnRack(h: MixerHarness, opts: SpawnRackOptions): SpawnedProcess {
  return spawnBinary("fluxrig-rack", {
    label: opts.label ?? opts.name,
    env: {
      FLUXRIG_RACK_NAME: opts.name,
      FLUXRIG_RACK_STATE_DIR: opts.stateDir,
      FLUXRIG_RACK_LOG_LEVEL: "debug",
      FLUXRIG_NATS_URL: h.nats.url,
      FLUXRIG_HEARTBEAT_INTERVAL: `${HEARTBEAT_MS}ms`,
      FLUXRIG_TELEMETRY_OTLP_ENDPOINT: `${h.apiUrl}/v1/metrics`,
      FLUXRIG_TELEMETRY_AUTH_TOKEN: TEST_TOKEN,
      FLUXRIG_TELEMETRY_EXPORT_INTERVAL: "300ms",
      // On a JWT bus a new Rack starts with the shared bootstrap credential, as the lab's and compose's do.
      ...(h.auth === "jwt" ? { FLUXRIG_NATS_CREDS: h.bootstrapCreds } : {}),
      ...opts.env,
    },
  });
}

/** A real Rack in its own fresh state dir, with its heartbeats tapped from before it starts. */
export interface WatchedRack extends AsyncDisposable {
  state: { readonly path: string };
  tap: HeartbeatTap;
  rack: SpawnedProcess;
}

/**
 * Spawns a real Rack (see {@link spawnRack}) in a fresh state dir, tapping its heartbeats first; disposing it stops
 * the Rack, then removes the dir.
 */
export async function spawnWatchedRack(
  h: MixerHarness,
  opts: Omit<SpawnRackOptions, "stateDir">,
): Promise<WatchedRack> {
  const state = tempDir(opts.name);
  const tap = await HeartbeatTap.open(h, opts.name);
  const rack = spawnRack(h, { ...opts, stateDir: state.path });
  return {
    state,
    tap,
    rack,
    [Symbol.asyncDispose]: async () => {
      await rack[Symbol.asyncDispose]();
      await state[Symbol.asyncDispose]();
    },
  };
}

/** A Rack as GET /api/v1/racks/{ref} shows it (the fields these tests read). */
export interface RackView {
  entity_id: string;
  machine_id: number;
  name: string;
  status: string;
  last_seen: string | null;
  stats: RackViewStats | null;
  passport: { serial: number; issued_at: string; expires_at: string } | null;
}

/** The heartbeat stats as the Mixer stores them (the Rack's stats plus what presence adds). */
export interface RackViewStats {
  rack_status?: string;
  scenario?: { name: string; version: string };
  gears?: { running: number; failed: number; restarts: number };
  messages?: { in: number; out: number };
  mem?: { rss_bytes: number };
  presence?: { session: string; seq: number };
}

/** GET /api/v1/racks/{ref}/metrics. */
export interface RackMetricsView {
  entity_id: string;
  rack_name: string | null;
  machine_id: number;
  received_at: string;
  metrics: Array<{ name: string; points: Array<{ attributes: Record<string, unknown>; value: unknown }> }>;
}

/** Reads one Rack; throws with the API's answer when it is not 200. */
export async function showRack(h: MixerHarness, ref: string): Promise<RackView> {
  const res = await h.api<RackView>(`/api/v1/racks/${ref}`);
  if (res.status !== 200)
    throw new Error(`GET /api/v1/racks/${ref}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Waits until the Rack's row satisfies `accept`, and returns it. */
export function waitForRack(
  h: MixerHarness,
  ref: string,
  accept: (rack: RackView) => boolean,
  opts: { message: string; timeoutMs?: number },
): Promise<RackView> {
  return waitFor(
    async () => {
      const res = await h.api<RackView>(`/api/v1/racks/${ref}`);
      return res.status === 200 && accept(res.body) ? res.body : undefined;
    },
    { timeoutMs: opts.timeoutMs ?? 15_000, intervalMs: 100, message: `${ref}: ${opts.message}` },
  );
}

/** Every Rack row the registry lists (one page of up to 1000). */
export async function listRacks(h: MixerHarness): Promise<RackView[]> {
  const res = await h.api<{ items: RackView[]; next: string | null }>("/api/v1/racks?limit=1000");
  if (res.status !== 200) throw new Error(`GET /api/v1/racks: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.items;
}

/** POST /api/v1/racks/{ref}/<action>; throws unless 200. */
export async function rackAction(
  h: MixerHarness,
  ref: string,
  action: "adopt" | "reject" | "revoke",
): Promise<RackView> {
  const res = await h.api<RackView>(`/api/v1/racks/${ref}/${action}`, {
    method: "POST",
    json: { reason: `e2e ${action}` },
  });
  if (res.status !== 200) throw new Error(`${action} ${ref}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** The Cluster public key as GET /api/v1/cluster serves it, for verifying state.flux. */
export async function clusterPublicKey(
  h: MixerHarness,
): Promise<{ key: KeyObject; raw: string; keyId: string }> {
  const res = await h.api<{ public_key: string; key_id: string }>("/api/v1/cluster");
  if (res.status !== 200) throw new Error(`GET /api/v1/cluster: ${res.status}`);
  return {
    key: publicKeyFromBase64url(res.body.public_key),
    raw: res.body.public_key,
    keyId: res.body.key_id,
  };
}

/** A counter of GET /api/v1/cluster (0 when absent). */
export async function clusterCounter(h: MixerHarness, name: string): Promise<number> {
  const res = await h.api<{ counters: Record<string, number> }>("/api/v1/cluster");
  return res.body.counters[name] ?? 0;
}

/** Imports a scenario (YAML) and activates it; throws unless both succeed. */
export async function activateScenario(h: MixerHarness, yaml: string, name: string): Promise<unknown> {
  const imported = await h.api("/api/v1/scenarios", {
    method: "POST",
    body: yaml,
    headers: { "content-type": "application/yaml" },
  });
  if (imported.status >= 300)
    throw new Error(`import ${name}: ${imported.status} ${JSON.stringify(imported.body)}`);
  const activated = await h.api(`/api/v1/scenarios/${name}/activate`, { method: "POST" });
  if (activated.status !== 200)
    throw new Error(`activate ${name}: ${activated.status} ${JSON.stringify(activated.body)}`);
  return activated.body;
}

/** A scenario deploying a ticker and a counter wired together to each named Rack. */
export function tickerScenario(name: string, racks: readonly string[], interval = "100ms"): string {
  const lines = [`meta: { name: ${name}, version: 1 }`, "racks:"];
  for (const rack of racks) lines.push(`  - name: ${rack}`);
  lines.push("gears:");
  racks.forEach((rack, i) => {
    lines.push(`  - { name: tick-${i}, type: ticker, deploy: ${rack}, config: { interval: ${interval} } }`);
    lines.push(`  - { name: count-${i}, type: counter, deploy: ${rack}, config: { every: 1000 } }`);
  });
  lines.push("wires:");
  racks.forEach((_, i) => {
    lines.push(`  - { from: tick-${i}.out, to: count-${i}.in }`);
  });
  return `${lines.join("\n")}\n`;
}

/** Heartbeats of one Rack as they cross the bus, decoded: what the Rack really said. */
export class HeartbeatTap {
  readonly beats: Heartbeat[] = [];
  #flush: () => Promise<void> = async () => undefined;

  private constructor() {}

  static async open(h: MixerHarness, name: string): Promise<HeartbeatTap> {
    const tap = new HeartbeatTap();
    const nc = await h.client();
    tap.#flush = () => nc.flush();
    const sub = nc.subscribe(heartbeatSubject(name));
    void (async () => {
      for await (const msg of sub) {
        const decoded = decodeHeartbeat(msg.data);
        if (decoded.ok) tap.beats.push(decoded.value);
      }
    })();
    await nc.flush();
    return tap;
  }

  /** A round trip to the server: every heartbeat published before now has been received. */
  async flush(): Promise<void> {
    await this.#flush();
  }

  with(status: Heartbeat["status"]): Heartbeat[] {
    return this.beats.filter((b) => b.status === status);
  }

  /** Resolves once `count` more heartbeats (any status) have arrived after this call. */
  async more(count: number, timeoutMs = 10_000): Promise<Heartbeat[]> {
    const from = this.beats.length;
    await waitFor(() => this.beats.length >= from + count, {
      timeoutMs,
      message: `${count} more heartbeats`,
    });
    return this.beats.slice(from);
  }
}

/** The files of a state dir set aside as `state.flux.<label>-<ISO time>`. */
export async function setAside(stateDir: string, label: string): Promise<string[]> {
  const files = await readdir(stateDir);
  return files.filter((f) => f.startsWith(`state.flux.${label}-`)).map((f) => join(stateDir, f));
}

/**
 * Runs a Rack until the Mixer shows it active (and, with `gears`, running its two scenario gears), then stops it
 * with SIGTERM: its state dir then holds a verified passport. The Mixer must adopt it on its own (auto or scenario).
 */
export async function provisionRack(
  h: MixerHarness,
  opts: { name: string; stateDir: string; gears?: boolean },
): Promise<RackView> {
  await using rack = spawnRack(h, {
    name: opts.name,
    stateDir: opts.stateDir,
    label: `${opts.name}-provision`,
  });
  await rack.waitForJson({ msg: "passport: stored state.flux" });
  if (opts.gears) await rack.waitForJson({ msg: "gears: scenario applied" });
  const row = await waitForRack(
    h,
    opts.name,
    (r) =>
      r.status === "active" &&
      r.stats?.rack_status === "active" &&
      (!opts.gears || r.stats.gears?.running === 2),
    { message: opts.gears ? "active with gears" : "active" },
  );
  const exit = await rack.stop();
  if (exit.code !== 0) throw new Error(`${opts.name} did not stop cleanly: ${JSON.stringify(exit)}`);
  return row;
}
