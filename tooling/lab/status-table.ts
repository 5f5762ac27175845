// Renders the lab's Rack table: name, status, MachineID, last seen, gears, messages, and the lab's own process.
import type { RackItem } from "./lab-api.js";

/** The lab's view of a Rack process: its pid while it runs, how it ended, or absent (not started this run). */
export type ProcessState = { pid: number } | { exited: string };

const HEADERS = ["NAME", "STATUS", "MACHINE", "LAST SEEN", "GEARS", "MSG IN", "MSG OUT", "PROCESS"] as const;

/**
 * The table as lines (header first), Racks sorted by name; racks the lab started but the Mixer does not know yet
 * show as `starting`.
 * @example renderTable({ racks, processes: new Map([["rack-manual", { pid: 42 }]]), now: new Date() });
 */
export function renderTable(opts: {
  racks: readonly RackItem[];
  processes: ReadonlyMap<string, ProcessState>;
  now: Date;
}): string[] {
  const byName = new Map(opts.racks.map((r) => [r.name, r]));
  const names = [...new Set([...byName.keys(), ...opts.processes.keys()])].sort();
  const rows = names.map((name) => {
    const rack = byName.get(name);
    const proc = opts.processes.get(name);
    return [
      name,
      rack?.status ?? "starting",
      rack ? String(rack.machine_id) : "-",
      rack ? relativeTime(rack.last_seen, opts.now) : "-",
      count(rack?.stats?.gears?.running),
      count(rack?.stats?.messages?.in),
      count(rack?.stats?.messages?.out),
      proc === undefined ? "-" : "pid" in proc ? `pid ${proc.pid}` : proc.exited,
    ];
  });
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(HEADERS), ...rows.map(line)];
}

/** `3s ago`, `5m ago`, `2h ago`, `4d ago`, `never`. */
export function relativeTime(iso: string | null, now: Date): string {
  if (iso === null) return "never";
  const seconds = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

/** How many Racks are in each status, e.g. `2 active, 1 pending`. */
export function summarize(racks: readonly RackItem[]): string {
  const counts = new Map<string, number>();
  for (const r of racks) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${n} ${status}`)
    .join(", ");
}

function count(value: number | undefined): string {
  return value === undefined ? "-" : String(value);
}
