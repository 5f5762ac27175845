// How Racks look in a terminal: the list table, the detail page with its evidence, conflicts, bulk results.
import type {
  AuditEvent,
  BulkAdoptResult,
  GearHealth,
  NameConflict,
  Rack,
  RackReplaced,
} from "../api-types.js";
import { renderFields, renderTable } from "../columns.js";
import type { Colors } from "../output.js";
import { formatRelative, formatTimestamp } from "../relative-time.js";
import { formatHardware, formatStats } from "./rack-stats.js";
import { styleStatus } from "./status-style.js";

/** The `racks list` table. */
export function rackTable(racks: readonly Rack[], c: Colors, now: Date): string {
  return renderTable(
    racks,
    [
      { header: "NAME", value: (r) => c.bold(r.name) },
      { header: "STATUS", value: (r) => `${styleStatus(r.status, c)}${r.stale ? c.yellow(" (stale)") : ""}` },
      { header: "MID", value: (r) => String(r.machine_id), align: "right" },
      { header: "ENTITY ID", value: (r) => r.entity_id_hex },
      { header: "LAST SEEN", value: (r) => formatRelative(r.last_seen, now) },
      { header: "VERSION", value: (r) => r.version },
      {
        header: "HOST",
        value: (r) => (typeof r.attributes.hostname === "string" ? r.attributes.hostname : ""),
      },
    ],
    c.dim,
  );
}

/** The name conflicts table: other keys that claimed a name. */
export function conflictTable(conflicts: readonly NameConflict[], c: Colors, now: Date): string {
  return renderTable(
    conflicts,
    [
      { header: "NAME", value: (x) => x.name },
      { header: "CLAIMED BY KEY", value: (x) => c.yellow(x.claimed_key_fingerprint) },
      { header: "ATTEMPTS", value: (x) => String(x.attempts), align: "right" },
      { header: "FIRST", value: (x) => formatRelative(x.first_at, now) },
      { header: "LAST", value: (x) => formatRelative(x.last_at, now) },
      { header: "LAST SOURCE", value: (x) => x.last_source ?? "-" },
    ],
    c.dim,
  );
}

function passportText(rack: Rack, now: Date): string {
  const p = rack.passport;
  if (p === null) return "none";
  const issued = `serial ${p.serial}, issued ${formatTimestamp(p.issued_at, now)}`;
  // A revoked Rack's last passport still has a future expiry date; it is withdrawn all the same, and must say so.
  if (rack.status === "revoked")
    return `${issued}\nREVOKED: not valid (it would have expired ${formatTimestamp(p.expires_at, now)})`;
  return `${issued}\nexpires ${formatTimestamp(p.expires_at, now)}`;
}

/** The `racks show` page: identity, the evidence for a decision, presence, passport and conflicts. */
export function rackDetail(rack: Rack, c: Colors, now: Date): string {
  const since = rack.status_changed_at ? ` (since ${formatRelative(rack.status_changed_at, now)})` : "";
  const fields: Array<[string, string]> = [
    ["name", c.bold(rack.name)],
    ["status", `${styleStatus(rack.status, c)}${since}`],
    ["entity id", `${rack.entity_id} (${rack.entity_id_hex})`],
    ["machine id", String(rack.machine_id)],
    ["version", rack.version],
    ["key", rack.key_fingerprint],
    ["public key", typeof rack.attributes.public_key === "string" ? rack.attributes.public_key : "-"],
    ["hardware", formatHardware(rack.attributes)],
    ["first seen", formatTimestamp(rack.first_seen, now)],
    ["last seen", formatTimestamp(rack.last_seen, now)],
  ];
  if (rack.stale) fields.push(["stale", c.yellow(staleText(rack, now))]);
  const ev = rack.evidence;
  if (ev) {
    fields.push(["hellos", String(ev.hello_count)]);
    fields.push(["last source", ev.last_source ?? "-"]);
  }
  fields.push(["passport", passportText(rack, now)]);
  fields.push(["stats", formatStats(rack.stats)]);
  if (ev) {
    fields.push([
      "conflicts",
      ev.conflicts.length === 0 ? "none" : c.yellow(`${ev.conflicts.length} other key(s) claimed this name`),
    ]);
  }
  const gears = rack.gears ?? null;
  if (gears !== null) {
    const failing = gears.filter((g) => g.state === "failed" || g.state === "restarting").length;
    const summary = `${gears.length} deployed${failing > 0 ? `, ${c.red(`${failing} failing`)}` : ""}`;
    fields.push(["gears", `${summary} (as of ${formatRelative(rack.last_seen, now)})`]);
  }
  let text = renderFields(fields, c.dim);
  if (gears !== null && gears.length > 0) text += `\n\n${gearTable(gears, c, now)}`;
  if (ev && ev.conflicts.length > 0) text += `\n\n${conflictTable(ev.conflicts, c, now)}`;
  return text;
}

/** Longest last error a gear table shows on its line; `--json` has the whole text the Rack sent. */
const ERROR_COLUMN_CHARS = 60;

/** A gear state coloured: running green, restarting yellow, failed red, stopped dim. */
function styleGearState(state: string, c: Colors): string {
  switch (state) {
    case "running":
      return c.green(state);
    case "restarting":
      return c.yellow(state);
    case "failed":
      return c.red(state);
    case "stopped":
      return c.dim(state);
    default:
      return state;
  }
}

/** The gears of `racks show`: each gear as the Rack last reported it; AGE is how long ago its last error was. */
export function gearTable(gears: readonly GearHealth[], c: Colors, now: Date): string {
  return renderTable(
    gears,
    [
      { header: "GEAR", value: (g) => c.bold(g.name) },
      { header: "TYPE", value: (g) => g.type },
      { header: "STATE", value: (g) => styleGearState(g.state, c) },
      { header: "RESTARTS", value: (g) => String(g.restarts), align: "right" },
      { header: "IN", value: (g) => String(g.in), align: "right" },
      { header: "OUT", value: (g) => String(g.out), align: "right" },
      { header: "LAST ERROR", value: (g) => (g.last_error ? clip(g.last_error.message) : "-") },
      { header: "AGE", value: (g) => (g.last_error ? formatRelative(g.last_error.at, now) : "-") },
    ],
    c.dim,
  );
}

/** One line of at most ERROR_COLUMN_CHARS characters, an ellipsis where it was cut. */
function clip(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  const chars = [...line];
  return chars.length <= ERROR_COLUMN_CHARS ? line : `${chars.slice(0, ERROR_COLUMN_CHARS - 1).join("")}…`;
}

/** Why a pending Rack is flagged stale, in words: "no hello or heartbeat for 5m; the machine may be gone". */
function staleText(rack: Rack, now: Date): string {
  const heard =
    rack.last_seen === null
      ? "never heard from"
      : `no hello or heartbeat since ${formatRelative(rack.last_seen, now)}`;
  return `${heard}; the machine may be gone (check it before adopting)`;
}

/** What an operator may do next with a Rack, as commands to copy. */
export function rackHints(rack: Rack): string[] {
  const hints: string[] = [];
  if (rack.status === "pending" && rack.stale) {
    hints.push(
      `it went silent: check the machine is up before you adopt it, or remove it: fluxrig racks rm ${rack.name}`,
    );
  }
  if (rack.status === "pending") {
    hints.push(`adopt it:  fluxrig racks adopt ${rack.name}`, `reject it: fluxrig racks reject ${rack.name}`);
  }
  if ((rack.evidence?.conflicts.length ?? 0) > 0) {
    hints.push(`hand the name to the newest claimant: fluxrig racks replace ${rack.name}`);
  }
  return hints;
}

/**
 * One line after a lifecycle change: "rack-nyc-01 (0x0300640000000000): active, passport serial 1, expires in 1d",
 * or "rack-nyc-01 was already active" when the Mixer says nothing changed.
 */
export function changedLine(rack: Rack, c: Colors, now: Date): string {
  if (rack.unchanged) {
    // Adopting an offline Rack changes nothing either: it is adopted, just not heard from.
    const was =
      rack.status === "offline" ? `adopted (${styleStatus("offline", c)})` : styleStatus(rack.status, c);
    return `${c.bold(rack.name)} was already ${was}`;
  }
  const passport =
    rack.status === "active" && rack.passport
      ? `, passport serial ${rack.passport.serial}, expires ${formatRelative(rack.passport.expires_at, now)}`
      : "";
  return `${c.bold(rack.name)} (${rack.entity_id_hex}): ${styleStatus(rack.status, c)}${passport}`;
}

/** The outcome of a bulk adopt: what was (or would be) adopted and what was skipped, with why. */
export function bulkAdoptText(result: BulkAdoptResult, c: Colors): string {
  const verb = result.dry_run ? "would adopt" : "adopted";
  const lines: string[] = [];
  for (const a of result.adopted) lines.push(`${verb} ${c.bold(a.name)} (was ${styleStatus(a.from, c)})`);
  for (const s of result.skipped) lines.push(`${c.yellow("skipped")} ${s.ref}: ${s.reason} (${s.code})`);
  if (result.adopted.length === 0 && result.skipped.length === 0) lines.push("no pending Rack matched");
  if (result.dry_run) lines.push(c.dim("dry run: nothing was changed"));
  return lines.join("\n");
}

/** The outcome of `racks replace`: the old key revoked, the name handed to the new one. */
export function replacedText(r: RackReplaced, c: Colors, now: Date): string {
  const passport = r.new.passport
    ? `, passport serial ${r.new.passport.serial}, expires ${formatRelative(r.new.passport.expires_at, now)}`
    : "";
  return [
    `${c.bold(r.new.name)} handed to a new key`,
    renderFields(
      [
        [
          "old key",
          `${r.old.key_fingerprint}  ${styleStatus(r.old.status, c)}, MachineID ${r.old.machine_id}`,
        ],
        [
          "new key",
          `${r.new.key_fingerprint}  ${styleStatus(r.new.status, c)}, MachineID ${r.new.machine_id} (${r.new.entity_id_hex})${passport}`,
        ],
      ],
      c.dim,
    ),
  ].join("\n");
}

/** The audit event kinds that change a Rack as `racks list` shows it (a replace writes all three). */
const RACK_CHANGE_KINDS: ReadonlySet<string> = new Set(["rack_enrolled", "status_changed", "rack_deleted"]);

/** The status a Rack has after `event`, or undefined when the event does not change a listed Rack. */
export function rackStatusAfter(event: AuditEvent): string | undefined {
  if (!RACK_CHANGE_KINDS.has(event.kind) || event.name === null) return undefined;
  return event.kind === "rack_deleted" ? "removed" : (event.to_status ?? undefined);
}

/**
 * `racks list --watch`: one line per change, like `kubectl get -w`:
 * "2025-06-01T12:00:01Z  rack-nyc-01  active  pending -> active, operator by api:alice".
 */
export function rackChangeLine(event: AuditEvent, c: Colors): string {
  const status = rackStatusAfter(event) ?? "-";
  const by = `${event.cause} by ${event.actor}`;
  const what =
    event.kind === "rack_enrolled"
      ? `enrolled${event.cause === "replaced" ? " with a new key" : ""}, ${by}`
      : event.kind === "rack_deleted"
        ? `removed${event.from_status === null ? "" : ` (was ${event.from_status})`}, ${by}`
        : `${event.from_status ?? "?"} -> ${status}, ${by}`;
  const at = event.at.replace(/\.\d{3}Z$/, "Z");
  const name = c.bold((event.name ?? "-").padEnd(20));
  const shown = status === "removed" ? c.red(status) : styleStatus(status, c);
  return `${c.dim(at)}  ${name}  ${shown}${" ".repeat(Math.max(1, 10 - status.length))}${what}`;
}
