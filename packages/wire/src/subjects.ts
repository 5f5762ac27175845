// NATS subjects of SPEC §5; every name that becomes a token is a lowercase DNS label, so none can inject `.`, `*`, `>`.
import { WireSubjectError } from "./wire-error.js";

/**
 * Fixed subjects.
 *
 * @example
 * nc.subscribe(SUBJECTS.heartbeatAll); // the Registry's heartbeat subscription
 */
export const SUBJECTS = {
  /** Rack to Mixer, request/reply: enrollment and session recovery. */
  hello: "fluxrig.agent.hello",
  /** Every Rack's heartbeat. */
  heartbeatAll: "fluxrig.event.heartbeat.>",
} as const;

const HEARTBEAT_PREFIX = "fluxrig.event.heartbeat.";
const RACK_PREFIX = "fluxrig.rack.";
const MESSAGE_PREFIX = "fluxrig.msg.";

/**
 * A Rack name: lowercase DNS label, 1 to 63 characters, no leading or trailing hyphen.
 *
 * @example
 * RACK_NAME_PATTERN.test("rack-nyc-01"); // true
 */
export const RACK_NAME_PATTERN: RegExp = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Whether a value is a valid Rack name (and so a safe subject token).
 *
 * @example
 * isValidRackName("rack nyc"); // false
 */
export function isValidRackName(name: unknown): name is string {
  return typeof name === "string" && RACK_NAME_PATTERN.test(name);
}

/**
 * Whether a name reads as an entity id (all decimal digits, or `0x` and hex digits). Such a name is a valid subject
 * token, but as a `{ref}` it could mean a Rack by name or another by id, so a new Rack may not take one (SPEC §11).
 *
 * @example
 * looksLikeEntityId("216282733276561408"); // true
 * looksLikeEntityId("rack-0x01"); // false
 */
export function looksLikeEntityId(name: string): boolean {
  return /^(?:[0-9]+|0x[0-9a-fA-F]+)$/.test(name);
}

function token(field: string, value: unknown): string {
  if (!isValidRackName(value)) {
    const shown = typeof value === "string" ? JSON.stringify(value.slice(0, 80)) : typeof value;
    throw new WireSubjectError({
      field,
      value,
      message: `${field} ${shown} is not a lowercase DNS label (${RACK_NAME_PATTERN.source})`,
    });
  }
  return value;
}

/**
 * The subject a Rack publishes its heartbeats on.
 *
 * @example
 * heartbeatSubject("rack-nyc-01"); // "fluxrig.event.heartbeat.rack-nyc-01"
 */
export function heartbeatSubject(name: string): string {
  return HEARTBEAT_PREFIX + token("name", name);
}

/**
 * The subject the Mixer pushes a Rack's scenario (execution logic) on.
 *
 * @example
 * rackScenarioSubject("rack-nyc-01"); // "fluxrig.rack.rack-nyc-01.scenario"
 */
export function rackScenarioSubject(name: string): string {
  return `${RACK_PREFIX}${token("name", name)}.scenario`;
}

/**
 * The subject the Mixer pushes passports and status changes to a Rack on.
 *
 * @example
 * rackPassportSubject("rack-nyc-01"); // "fluxrig.rack.rack-nyc-01.passport"
 */
export function rackPassportSubject(name: string): string {
  return `${RACK_PREFIX}${token("name", name)}.passport`;
}

/**
 * The KV bucket holding each Rack's state in cluster mode (docs/cluster.md): one key per Rack, its name.
 *
 * @example
 * RACK_STATE_BUCKET; // "fluxrig_rack_state"
 */
export const RACK_STATE_BUCKET = "fluxrig_rack_state";

/**
 * The subject a Rack's state key is written on (`$KV.<bucket>.<name>`): the Mixer's writes, and a Rack's watch.
 *
 * @example
 * rackStateSubject("rack-nyc-01"); // "$KV.fluxrig_rack_state.rack-nyc-01"
 */
export function rackStateSubject(name: string): string {
  return `$KV.${RACK_STATE_BUCKET}.${token("name", name)}`;
}

/**
 * The JetStream direct get of the last value of a Rack's state key, the subject naming the key (nats-server 2.10's
 * `$JS.API.DIRECT.GET.<stream>.<subject>`), so a permission can allow exactly one key.
 *
 * @example
 * rackStateDirectGetSubject("rack-nyc-01");
 * // "$JS.API.DIRECT.GET.KV_fluxrig_rack_state.$KV.fluxrig_rack_state.rack-nyc-01"
 */
export function rackStateDirectGetSubject(name: string): string {
  return `$JS.API.DIRECT.GET.KV_${RACK_STATE_BUCKET}.${rackStateSubject(name)}`;
}

/**
 * The Rack name in a heartbeat subject, or `null` when the subject is not one (or names an invalid Rack).
 *
 * @example
 * parseHeartbeatSubject("fluxrig.event.heartbeat.rack-1"); // "rack-1"
 * parseHeartbeatSubject("fluxrig.event.heartbeat.a.b"); // null
 */
export function parseHeartbeatSubject(subject: string): string | null {
  if (typeof subject !== "string" || !subject.startsWith(HEARTBEAT_PREFIX)) return null;
  const name = subject.slice(HEARTBEAT_PREFIX.length);
  return isValidRackName(name) ? name : null;
}

/**
 * Whether `subject` is the heartbeat subject of `name`, a name already known valid (a decoded heartbeat's, which its
 * schema checked): the same answer as `parseHeartbeatSubject(subject) === name` for such a name, without the slice
 * and the pattern test per message.
 *
 * @example
 * isHeartbeatSubjectOf("fluxrig.event.heartbeat.rack-1", "rack-1"); // true
 * isHeartbeatSubjectOf("fluxrig.event.heartbeat.rack-2", "rack-1"); // false
 */
export function isHeartbeatSubjectOf(subject: string, name: string): boolean {
  return (
    subject.length === HEARTBEAT_PREFIX.length + name.length &&
    subject.startsWith(HEARTBEAT_PREFIX) &&
    subject.endsWith(name)
  );
}

/** What a per-Rack subject is for. */
export type RackSubjectKind = "scenario" | "passport";

/**
 * Splits a per-Rack subject (`fluxrig.rack.<name>.<kind>`), or answers `null`.
 *
 * @example
 * parseRackSubject("fluxrig.rack.rack-1.passport"); // { name: "rack-1", kind: "passport" }
 */
export function parseRackSubject(subject: string): { name: string; kind: RackSubjectKind } | null {
  if (typeof subject !== "string" || !subject.startsWith(RACK_PREFIX)) return null;
  const rest = subject.slice(RACK_PREFIX.length);
  const dot = rest.indexOf(".");
  if (dot < 0) return null;
  const name = rest.slice(0, dot);
  const kind = rest.slice(dot + 1);
  if (!isValidRackName(name) || (kind !== "scenario" && kind !== "passport")) return null;
  return { name, kind };
}

/**
 * The data subject of one wire of a scenario; both names must be DNS labels.
 *
 * @example
 * wireMessageSubject("demo", "temp-feed"); // "fluxrig.msg.demo.temp-feed"
 */
export function wireMessageSubject(scenario: string, wire: string): string {
  return `${MESSAGE_PREFIX}${token("scenario", scenario)}.${token("wire", wire)}`;
}
