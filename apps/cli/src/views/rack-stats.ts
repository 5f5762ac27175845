// A Rack's reported hardware and heartbeat stats in one readable line each, whatever extra keys they carry.
import { formatSpan } from "../relative-time.js";

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function scalar(v: unknown): string {
  if (Array.isArray(v)) return v.map(scalar).join(" ");
  if (isRecord(v)) return JSON.stringify(v);
  return String(v);
}

/** Bytes as "47.7 MiB". @example formatBytes(50_000_000) // "47.7 MiB" */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * What a Rack reported about its host, without its public key (shown on its own line):
 * "hostname nyc-01, os linux, arch x64, mac 02:00:00:00:00:01".
 *
 * @example
 * formatHardware({ public_key: "k", hostname: "h", os: "linux" }); // "hostname h, os linux"
 */
export function formatHardware(attributes: Record<string, unknown>): string {
  const order = ["hostname", "os", "arch", "mac"];
  const keys = Object.keys(attributes).filter((k) => k !== "public_key");
  keys.sort((a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    return (ia < 0 ? order.length : ia) - (ib < 0 ? order.length : ib) || a.localeCompare(b);
  });
  const parts = keys.map((k) => `${k} ${scalar(attributes[k])}`);
  return parts.length > 0 ? parts.join(", ") : "nothing reported";
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/**
 * Heartbeat stats as "cpu 1.5% (host 10%), rss 47.7 MiB, heap 19.1 MiB, loop lag 0.5 ms, handles 4, up 12s";
 * keys this version does not know are appended as key=value.
 *
 * @example
 * formatStats({ active_handles: 4 }); // "handles 4"
 */
export function formatStats(stats: Record<string, unknown> | null): string {
  if (stats === null) return "none yet";
  const parts: string[] = [];
  const rest = { ...stats };
  const cpu = isRecord(stats.cpu) ? stats.cpu : undefined;
  if (cpu && num(cpu.process_pct) !== undefined) {
    parts.push(
      `cpu ${num(cpu.process_pct)}%${num(cpu.host_pct) !== undefined ? ` (host ${num(cpu.host_pct)}%)` : ""}`,
    );
    delete rest.cpu;
  }
  const mem = isRecord(stats.mem) ? stats.mem : undefined;
  if (mem) {
    const rss = num(mem.rss_bytes);
    const heap = num(mem.heap_used_bytes);
    if (rss !== undefined) parts.push(`rss ${formatBytes(rss)}`);
    if (heap !== undefined) parts.push(`heap ${formatBytes(heap)}`);
    delete rest.mem;
  }
  const lag = num(stats.event_loop_lag_ms);
  if (lag !== undefined) {
    parts.push(`loop lag ${lag} ms`);
    delete rest.event_loop_lag_ms;
  }
  const handles = num(stats.active_handles);
  if (handles !== undefined) {
    parts.push(`handles ${handles}`);
    delete rest.active_handles;
  }
  const uptime = num(stats.uptime_s);
  if (uptime !== undefined) {
    parts.push(`up ${formatSpan(uptime * 1000)}`);
    delete rest.uptime_s;
  }
  const gears = isRecord(stats.gears) ? stats.gears : undefined;
  if (gears) {
    parts.push(
      `gears ${scalar(gears.running)} running, ${scalar(gears.failed)} failed, ${scalar(gears.restarts)} restarts`,
    );
    delete rest.gears;
  }
  const messages = isRecord(stats.messages) ? stats.messages : undefined;
  if (messages) {
    parts.push(`messages ${scalar(messages.in)} in, ${scalar(messages.out)} out`);
    delete rest.messages;
  }
  const scenario = isRecord(stats.scenario) ? stats.scenario : undefined;
  if (scenario) {
    parts.push(`runs scenario ${scalar(scenario.name)} v${scalar(scenario.version)}`);
    delete rest.scenario;
  }
  // The Mixer adds what the Rack said about itself and its heartbeat session.
  if (typeof stats.rack_status === "string") {
    parts.push(`reports ${stats.rack_status}`);
    delete rest.rack_status;
  }
  const presence = isRecord(stats.presence) ? stats.presence : undefined;
  if (presence) {
    parts.push(`heartbeat seq ${scalar(presence.seq)}, ${scalar(presence.flaps)} flaps`);
    delete rest.presence;
  }
  for (const [k, v] of Object.entries(rest)) parts.push(`${k}=${scalar(v)}`);
  return parts.length > 0 ? parts.join(", ") : "none yet";
}
