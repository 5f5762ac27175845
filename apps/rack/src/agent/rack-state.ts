// Cluster mode (docs/cluster.md, "Racks watch their own state"): the Rack reads its own key of `fluxrig_rack_state` when
// its link comes up or back, and watches it; a newer, signed value goes through what a push goes through.
import {
  decodeRackState,
  decodeRackStateRecord,
  type RackState,
  rackStateDirectGetSubject,
  type ScenarioPush,
} from "@fluxrig/wire";
import { Empty, type Msg, type NatsConnection, RequestError, TimeoutError } from "@nats-io/transport-node";
import { decodeUserJwt } from "../bus/bus-credential.js";
import type { AgentCore } from "./agent-core.js";
import { acceptPassport } from "./passport-keeper.js";
import { applyScenarioPush, decodedOrDropped } from "./push-handlers.js";

/** Why a state value is looked at: named in the log. */
export type RackStateSource = "read at connect" | "read at activation" | "read after reconnect" | "watch";

/** How a read of the key went. */
export type RackStateRead = "applied" | "current" | "absent" | "no bucket" | "failed" | "refused";

/** The direct get's answer waits at most this long: the bucket is served by nats-server, not by a Mixer. */
const READ_TIMEOUT_MS = 5_000;

/**
 * Reads this Rack's state key (a JetStream direct get whose subject names the key, the only read its grant allows)
 * and applies it when newer than the one held. No bucket (single mode: no stream answers) costs one request answered
 * at once, logged at debug.
 */
export async function readRackState(
  core: AgentCore,
  nc: NatsConnection,
  source: RackStateSource,
): Promise<RackStateRead> {
  let msg: Msg;
  try {
    msg = await nc.request(rackStateDirectGetSubject(core.name), Empty, { timeout: READ_TIMEOUT_MS });
  } catch (error) {
    if (isNoResponders(error)) {
      core.log.debug({ source }, "rack state: no state bucket on this bus (single mode)");
      return "no bucket";
    }
    const level = error instanceof TimeoutError ? "info" : "warn";
    core.log[level](
      { source, err: error },
      "rack state: read failed; the watch and the next reconnect try again",
    );
    return "failed";
  }
  const code = msg.headers?.code ?? 0;
  if (code === 404 || deleted(msg)) {
    core.log.debug({ source }, "rack state: nothing stored for this Rack yet");
    return "absent";
  }
  if (code !== 0 && code !== 200) {
    core.log.warn(
      { source, code, description: msg.headers?.description },
      "rack state: read refused by nats-server",
    );
    return "failed";
  }
  return applyRackStateMessage(core, msg.data, source);
}

/** A message on the key's `$KV` subject (a write of it, seen by the watch). */
export async function onRackStateMessage(core: AgentCore, msg: Msg): Promise<void> {
  if (deleted(msg)) return;
  await applyRackStateMessage(core, msg.data, "watch");
}

/**
 * A stored value: checked like a push (the pinned Cluster Key's signature over the state's exact bytes, its schema,
 * its name), then applied only when its version is newer than the one held, so a Rack never goes back.
 */
async function applyRackStateMessage(
  core: AgentCore,
  data: Uint8Array,
  source: RackStateSource,
): Promise<RackStateRead> {
  const record = decodedOrDropped(core, decodeRackStateRecord(data), "rack state");
  if (record === undefined) return "refused";
  const bytes = Buffer.from(record.v.data, "base64url");
  if (!core.gate.accept("rack state", core.id.pin?.publicKey, bytes, record.v.signature)) return "refused";
  const state = decodedOrDropped(core, decodeRackState(bytes), "rack state");
  if (state === undefined) return "refused";
  if (state.name !== core.name) {
    core.log.warn({ source, named: state.name }, "rack state: dropped (it names another Rack)");
    return "refused";
  }
  if (state.version <= core.rackStateVersion) {
    const older = state.version < core.rackStateVersion;
    core.log[older ? "warn" : "debug"](
      { source, version: state.version, held: core.rackStateVersion },
      older ? "rack state: older than the one held; ignored" : "rack state: already held",
    );
    return older ? "refused" : "current";
  }
  core.rackStateVersion = state.version;
  await applyRackState(core, state, source);
  return "applied";
}

/** The parts of a newer state, each through the code a push of it takes, each only when it changes something. */
async function applyRackState(core: AgentCore, state: RackState, source: RackStateSource): Promise<void> {
  const scenario = state.scenario;
  const runScenario = scenario !== undefined && scenarioChanges(core.scenario, scenario);
  core.log.info(
    {
      source,
      version: state.version,
      scenario: scenario?.scenario.name,
      scenario_version: scenario?.scenario.version,
      apply_scenario: runScenario,
    },
    "rack state: applying",
  );
  const why = `rack state (${source})`;
  // The credential first, as with pushes: the gears of a new scenario run under the grant that allows their wires.
  if (state.bus_credential !== undefined && newerCredential(core.busJwt, state.bus_credential.jwt))
    await core.takeCredential(state.bus_credential, why);
  if (state.passport !== undefined && state.passport.sig !== core.id.passport?.envelope.sig)
    await acceptPassport(core, state.passport, why);
  if (runScenario) await applyScenarioPush(core, scenario, "rack state scenario");
}

/**
 * Whether the state's credential was issued after the one held. Credentials from hello replies (renewals) are not
 * written to the key, so the key's may be older than the Rack's own: never go back to it.
 */
function newerCredential(held: string | undefined, next: string): boolean {
  if (held === undefined) return true;
  if (held === next) return false;
  try {
    // NATS JWTs count whole seconds: a credential pushed with a scenario activated in the same second as the hello
    // that gave the held one is newer, not older (taken as older, the Rack ran the new scenario under the old grant
    // and its wires carried nothing). Of two issued in one second the state's is never the worse: it was cut for the
    // Rack's latest scenario.
    return decodeUserJwt(next).issuedAt >= decodeUserJwt(held).issuedAt;
  } catch {
    return false;
  }
}

/**
 * Whether `next` differs from the scenario held and is not older than it: a push newer than the stored value (its
 * write still on its way) is kept.
 */
function scenarioChanges(held: ScenarioPush | undefined, next: ScenarioPush): boolean {
  if (held === undefined) return true;
  const strip = (p: ScenarioPush) => JSON.stringify({ ...p, ts: null });
  if (strip(held) === strip(next)) return false;
  return Date.parse(next.ts) >= Date.parse(held.ts);
}

/** A delete or purge marker of the key (no value). */
function deleted(msg: Msg): boolean {
  const op = msg.headers?.get("KV-Operation");
  return op === "DEL" || op === "PURGE";
}

function isNoResponders(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof RequestError && e.isNoResponders()) return true;
    if (e.constructor.name === "NoRespondersError" || /no responders/i.test(e.message)) return true;
  }
  return false;
}
