// What each bus user may publish and subscribe, derived purely from state: a Rack's status and scenario, the Mixer's
// role, and the bootstrap credential's single job (SPEC §11).

import {
  heartbeatSubject,
  INBOX_PREFIXES,
  inboxWildcard,
  PUSH_WILDCARDS,
  RACK_STATE_BUCKET,
  type RackStatus,
  rackInboxPrefix,
  rackPassportSubject,
  rackScenarioSubject,
  rackStateDirectGetSubject,
  rackStateSubject,
  type ScenarioPush,
  SUBJECTS,
  wireMessageSubject,
} from "@fluxrig/wire";
import { REGISTRY_BUCKETS } from "../kv/registry-buckets.js";
import { AUDIT_STREAM } from "../kv/registry-layout.js";
import type { UserPermissions } from "./claims.js";

/** What the bus needs to know of a Rack: its name, its status, and (adopted) the scenario push it holds. */
export interface RackBusState {
  name: string;
  status: RackStatus;
  /** The push this Rack was sent for the active scenario: its gears and the wires that touch them. */
  scenario?: Pick<ScenarioPush, "scenario" | "gears" | "wires"> | undefined;
}

/** What the bus offers besides the state's own grant. */
export interface RackGrantOptions {
  /**
   * Cluster mode: an adopted Rack may read its own key of `fluxrig_rack_state` (a direct get whose subject names the
   * key) and watch it (the key's `$KV` subject); no other key, and no other `$JS.API` or `$KV` subject.
   */
  rackState?: boolean;
}

/**
 * A Rack's permissions, or `null` when its status earns no credential at all (rejected, revoked).
 * Pending: hello, its own heartbeat subject, its own reply inbox, its passport push; nothing else, so a pending
 * Rack is heartbeat-only at the bus. Adopted (active or offline): those, its scenario push, and the wires of its
 * scenario push: publish where the wire's source gear runs here, subscribe where its target gear does; in cluster
 * mode (`opts.rackState`) also the read and the watch of its own state key, the only JetStream it may touch.
 *
 * @example
 * rackPermissions({ name: "rack-1", status: "pending" }).pub.allow;
 * // ["fluxrig.agent.hello", "fluxrig.event.heartbeat.rack-1"]
 */
export function rackPermissions(
  state: RackBusState & { status: "pending" | "active" },
  opts?: RackGrantOptions,
): UserPermissions;
export function rackPermissions(state: RackBusState, opts?: RackGrantOptions): UserPermissions | null;
export function rackPermissions(state: RackBusState, opts: RackGrantOptions = {}): UserPermissions | null {
  if (state.status === "rejected" || state.status === "revoked") return null;
  const pub = [SUBJECTS.hello, heartbeatSubject(state.name)];
  const sub = [inboxWildcard(rackInboxPrefix(state.name)), rackPassportSubject(state.name)];
  if (state.status === "active" || state.status === "offline") {
    sub.push(rackScenarioSubject(state.name));
    const wires = state.scenario === undefined ? { pub: [], sub: [] } : wireSubjects(state.scenario);
    pub.push(...wires.pub);
    sub.push(...wires.sub);
    if (opts.rackState === true) {
      pub.push(rackStateDirectGetSubject(state.name));
      sub.push(rackStateSubject(state.name));
    }
  }
  return { pub: { allow: pub, deny: [] }, sub: { allow: sub, deny: [] } };
}

/**
 * The Mixer's fleet-account user: the only one that may read hellos and heartbeats and push to Racks. It answers
 * hellos by publishing to the requester's inbox, so it may publish under `_INBOX.>` (a Rack cannot, and cannot
 * subscribe there outside its own prefix).
 *
 * @example
 * issueUserJwt({ ..., name: "mixer", permissions: mixerPermissions() });
 */
export function mixerPermissions(): UserPermissions {
  return {
    pub: {
      allow: [
        PUSH_WILDCARDS.scenario,
        PUSH_WILDCARDS.passport,
        inboxWildcard("_INBOX"),
        ...registryKvSubjects(),
      ],
      deny: [],
    },
    sub: { allow: [SUBJECTS.hello, SUBJECTS.heartbeatAll, inboxWildcard(INBOX_PREFIXES.mixer)], deny: [] },
  };
}

/**
 * Cluster mode (docs/cluster.md): the JetStream API (bucket streams, leader reads, watchers' consumers), writes to
 * the registry's own buckets, the Racks' state bucket and its audit stream, and watchers' flow-control replies.
 * Replies come back on the Mixer's inbox prefix. No Rack gets any of these (an adopted Rack reads and watches its own
 * state key only: {@link rackPermissions}).
 */
function registryKvSubjects(): string[] {
  return [
    "$JS.API.>",
    "$JS.FC.>",
    ...Object.values(REGISTRY_BUCKETS).map((bucket) => `$KV.${bucket.name}.>`),
    `$KV.${RACK_STATE_BUCKET}.>`,
    AUDIT_STREAM.subjects,
  ];
}

/**
 * The bootstrap credential a brand-new Rack (no user JWT yet) connects with: send hellos, read replies under the
 * shared bootstrap prefix. Whoever holds it can learn only what those replies say (see docs/bus-auth.md).
 *
 * @example
 * issueUserJwt({ ..., name: "bootstrap", permissions: bootstrapPermissions() });
 */
export function bootstrapPermissions(): UserPermissions {
  return {
    pub: { allow: [SUBJECTS.hello], deny: [] },
    sub: { allow: [inboxWildcard(INBOX_PREFIXES.bootstrap)], deny: [] },
  };
}

function wireSubjects(push: Pick<ScenarioPush, "scenario" | "gears" | "wires">): {
  pub: string[];
  sub: string[];
} {
  const local = new Set(push.gears.map((g) => g.name));
  const pub = new Set<string>();
  const sub = new Set<string>();
  for (const wire of push.wires) {
    // The subject is rebuilt from the names, never taken from the push: one rule says where a wire's data flows.
    const subject = wireMessageSubject(push.scenario.name, wire.name);
    if (local.has(gearOf(wire.from))) pub.add(subject);
    if (local.has(gearOf(wire.to))) sub.add(subject);
  }
  return { pub: [...pub], sub: [...sub] };
}

function gearOf(port: string): string {
  return port.split(".")[0] ?? "";
}
