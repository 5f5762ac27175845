// The passport the Rack holds: verify, store, activate; renewal and expiry deadlines; drop and revoke.
import { type PassportEnvelope, type PassportPayload, renewalDueAt } from "@fluxrig/passport";
import { describeRefusal, verifyRackPassport } from "../identity/passport-checks.js";
import { moveAside, storePassport } from "../identity/passport-store.js";
import { removeScenarioFile } from "../scenario-cache.js";
import type { AgentCore, HeldPassport } from "./agent-core.js";

/**
 * Verifies a passport for this Rack against the pin, its key, its name and the clock; throws PassportError.
 * `allowExpired` is for revocations, which stay binding after their expiry.
 */
export function verifyForRack(
  core: AgentCore,
  envelope: PassportEnvelope,
  allowExpired = false,
): PassportPayload {
  const { pin, keys } = core.id;
  if (pin === null || keys === undefined) throw new Error("no cluster key pinned yet");
  return verifyRackPassport(envelope, {
    clusterPublicKey: pin.publicKey,
    rackPublicKey: keys.publicKey,
    name: core.name,
    now: core.now(),
    skewMs: core.timing.skewMs,
    allowExpired,
  });
}

/** Takes a verified passport as the Rack's own. */
export function holdPassport(core: AgentCore, held: HeldPassport): void {
  core.id.passport = held;
  core.id.entityId = held.payload.entity_id;
  core.id.machineId = held.payload.machine_id;
}

/**
 * Verifies a passport, stores it as state.flux, then activates (telemetry, gears, cached scenario): the
 * adoption order of the seed. A renewal while active only replaces state.flux. False when refused.
 */
export async function acceptPassport(
  core: AgentCore,
  envelope: PassportEnvelope,
  source: string,
): Promise<boolean> {
  if (core.id.pin === null) {
    core.log.error({ source }, "passport: cannot verify before a cluster key is pinned; asking the Mixer");
    return false;
  }
  let payload: PassportPayload;
  try {
    payload = verifyForRack(core, envelope);
  } catch (error) {
    const refusal = describeRefusal(error);
    core.log.error({ source, ...refusal }, `passport: refused (${refusal.verdict})`);
    return false;
  }
  if (payload.status === "revoked") {
    await revoke(core, `${source} carries a signed revocation`);
    return false;
  }
  const current = core.id.passport;
  if (current !== null && current.envelope.sig === envelope.sig) {
    armPassportTimers(core);
    return true;
  }
  if (current !== null && payload.serial < current.payload.serial) {
    core.log.warn(
      { source, serial: payload.serial, held: current.payload.serial },
      "passport: older than the one held; ignored",
    );
    return true;
  }
  try {
    await storePassport(core.deps.paths.stateFlux, envelope);
  } catch (error) {
    core.log.error({ err: error }, "passport: could not store state.flux; not activating");
    return false;
  }
  holdPassport(core, { envelope, payload });
  const fields = {
    source,
    entity_id: payload.entity_id,
    serial: payload.serial,
    expires_at: payload.expires_at,
  };
  core.log.info(fields, current === null ? "passport: stored state.flux" : "passport: renewed");
  await core.move({
    type: "passport_accepted",
    reason: `${source}: passport serial ${payload.serial} valid until ${payload.expires_at}`,
  });
  armPassportTimers(core);
  return true;
}

/** Renewal once past 2/3 of the passport's life (retried with backoff once due), and the expiry deadline. */
export function armPassportTimers(core: AgentCore): void {
  const held = core.id.passport;
  if (held === null || core.stopping) return;
  const due = renewalDueAt(held.payload);
  const renew = () => core.scheduleHello(0, "renewal");
  if (core.now().getTime() < due) {
    core.backoffs.renew.reset();
    core.timers.at("renew", due, renew);
  } else {
    core.timers.after("renew", core.backoffs.renew.next(), renew);
  }
  const expiry = Date.parse(held.payload.expires_at) + core.timing.skewMs;
  core.timers.at("expiry", expiry, () => void core.enqueue("expiry", () => onExpired(core, held)));
}

async function onExpired(core: AgentCore, held: HeldPassport): Promise<void> {
  if (core.id.passport !== held) return;
  const reason = `passport expired at ${held.payload.expires_at} before it could be renewed`;
  await dropPassport(core, "expired", reason);
  await core.move({ type: "passport_lost", reason });
  core.scheduleHello(0, "expired");
}

/** Forgets the held passport and sets state.flux aside as `state.flux.<label>-<ISO time>`. */
export async function dropPassport(core: AgentCore, label: string, reason: string): Promise<void> {
  core.id.passport = null;
  core.timers.clear("renew");
  core.timers.clear("expiry");
  let movedTo: string;
  try {
    movedTo = await moveAside({ path: core.deps.paths.stateFlux, label, now: core.now() });
  } catch (error) {
    // The passport is dropped all the same: a revocation must stop the workloads even on a broken disk. The file
    // stays; at the next start the Mixer's answer to its hello decides again.
    core.log.error(
      { err: error, reason, path: core.deps.paths.stateFlux },
      "passport: dropped, but state.flux could not be set aside (is the state dir writable?)",
    );
    return;
  }
  core.log.warn({ reason, moved_to: movedTo }, "passport: dropped");
}

/** Revocation: passport and kept scenario dropped, gears and telemetry stopped, heartbeat-only. */
export async function revoke(core: AgentCore, reason: string): Promise<void> {
  if (core.id.passport !== null) await dropPassport(core, "revoked", reason);
  core.scenario = undefined;
  await removeScenarioFile(core.deps.paths.scenario);
  await core.move({ type: "revoked", reason });
}
