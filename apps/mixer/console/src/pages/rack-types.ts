// The API's Rack body as the console reads it (a subset of @fluxrig/wire's RackView).

export interface NameConflict {
  name: string;
  claimed_key_fingerprint: string;
  first_at: string;
  last_at: string;
  attempts: number;
  last_source: string | null;
}

export interface GearHealth {
  name: string;
  type: string;
  state: string;
  restarts: number;
  in: number;
  out: number;
  last_error?: { message: string; at: string };
}

export interface Rack {
  entity_id: string;
  entity_id_hex: string;
  machine_id: number;
  name: string;
  status: string;
  version: string;
  attributes: Record<string, unknown>;
  stats: Record<string, unknown> | null;
  last_seen: string | null;
  stale: boolean;
  first_seen: string | null;
  status_changed_at: string | null;
  key_fingerprint: string;
  passport: { serial: number; issued_at: string; expires_at: string } | null;
  evidence?: { hello_count: number; last_source: string | null; conflicts: NameConflict[] };
  gears?: GearHealth[] | null;
  unchanged?: true;
}

export interface RackPage {
  items: Rack[];
  next: string | null;
}

/** `hostname (os/arch)` from a Rack's reported attributes. */
export function hostOf(rack: { attributes: Record<string, unknown> }): string {
  const a = rack.attributes;
  const host = typeof a.hostname === "string" ? a.hostname : "";
  const platform = [a.os, a.arch].filter((v) => typeof v === "string").join("/");
  if (host === "" && platform === "") return "unknown";
  return platform === "" ? host : `${host} (${platform})`;
}

/** The path of one Rack's API resource. */
export function rackPath(name: string, action = ""): string {
  return `/api/v1/racks/${encodeURIComponent(name)}${action === "" ? "" : `/${action}`}`;
}
