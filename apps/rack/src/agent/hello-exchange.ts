// One hello and what its reply means: pin on first enrollment, follow the Mixer's status, pace the next hello.
import { CONTROL_SIGNATURE_HEADER, generateReplyKey, publicKeyToBase64url } from "@fluxrig/passport";
import type { HelloReply } from "@fluxrig/wire";
import { makePin, writePinFile } from "../identity/cluster-pin.js";
import { type HelloAnswer, openSealedReply, sendHello } from "../identity/hello-client.js";
import { hostAttributes } from "../identity/host-attributes.js";
import { isPassive } from "../lifecycle/agent-state-machine.js";
import { decideReply } from "../lifecycle/reply-policy.js";
import { ClusterKeyMismatchError, HelloFailedError } from "../rack-error.js";
import { removeScenarioFile } from "../scenario-cache.js";
import type { AgentCore, CredentialTaken } from "./agent-core.js";
import { acceptPassport, armPassportTimers, dropPassport, revoke } from "./passport-keeper.js";

/** Sends a hello (with the passport when the Rack holds one) and acts on the reply. */
export async function runHello(core: AgentCore, why: string): Promise<void> {
  const nc = core.nc;
  const keys = core.id.keys;
  if (core.stopping || nc === undefined || keys === undefined) return;
  core.timers.clear("hello");
  // On the shared bootstrap inbox the full reply comes sealed to this hello's own X25519 key: one hello is enough
  // for a Rack adopted at once (a pending one asks once more as itself, see below).
  const replyKey = core.busMode === "bootstrap" ? generateReplyKey() : undefined;
  let answer: HelloAnswer;
  try {
    answer = await sendHello({
      name: core.name,
      version: core.version,
      keys,
      attributes: core.deps.attributes ?? hostAttributes(),
      request: async (subject, data, timeout) => {
        const msg = await nc.request(subject, data, { timeout });
        return { data: msg.data, signature: msg.headers?.get(CONTROL_SIGNATURE_HEADER) };
      },
      timeoutMs: core.timing.helloTimeoutMs,
      now: core.now(),
      passport: core.id.passport?.envelope,
      enrollmentToken: core.deps.config.rack.enrollment_token,
      replyKey,
    });
  } catch (error) {
    if (!(error instanceof HelloFailedError)) throw error;
    const count = ++core.helloFailures;
    // A Rack left offline would otherwise log a warning per retry, for days.
    const level = count === 1 ? "warn" : "debug";
    core.log[level]({ why, code: error.code, failures: count, err: error }, "hello: failed");
    afterHelloFailure(core);
    return;
  }
  const clear = answer.reply;
  // Only the Mixer's word counts: signed by the pinned Cluster Key or, on the very first enrollment, by the key the
  // reply itself names (which is then pinned). A reply naming another key than the pin is the foreign-cluster case.
  const pinned = core.id.pin;
  const foreign = pinned !== null && clear.cluster_public_key !== pinned.publicKeyB64;
  if (
    !foreign &&
    !core.gate.accept(
      "hello reply",
      pinned?.publicKey ?? clear.cluster_public_key,
      answer.data,
      answer.signature,
    )
  ) {
    afterHelloFailure(core);
    return;
  }
  // The signature covers the sealed bytes; the box itself opens only with this hello's key.
  let reply = clear;
  if (clear.sealed !== undefined && !foreign) {
    try {
      if (replyKey === undefined)
        throw new HelloFailedError({
          code: "decode",
          message: "a sealed reply to a hello that sent no reply key",
        });
      reply = openSealedReply(clear, replyKey, publicKeyToBase64url(keys.publicKey));
    } catch (error) {
      if (!(error instanceof HelloFailedError)) throw error;
      core.log.warn({ why, err: error }, "hello: sealed reply refused");
      afterHelloFailure(core);
      return;
    }
  }
  // A full reply on the bootstrap path that stays true: after moving to its own connection the Rack needs no second
  // hello. A pending one does not: the Rack hears no push before it subscribes as itself, so an adoption between the
  // Mixer's answer and that subscription would be lost until the pending pace (the lab's adopt-at-once race). Only a
  // hello said after subscribing closes that window, so a pending Rack asks once more as itself.
  const full = clear.sealed !== undefined && reply.status === "active";
  if (core.helloFailures > 0) {
    core.log.info({ failures: core.helloFailures }, "hello: the Mixer answers again");
    // The run of failures is over: the next outage is retried from the start of the backoff again.
    core.backoffs.enroll.reset();
  }
  core.helloFailures = 0;
  core.log.debug({ why, status: reply.status, bus: core.busMode }, "hello: reply");
  let taken: CredentialTaken = "none";
  if (
    reply.bus_credential !== undefined &&
    !foreign &&
    (reply.status === "pending" || reply.status === "active")
  ) {
    // The pin comes first: the switch to this Rack's own connection is only worth it for the pinned cluster.
    if (!(await pinOnFirstEnrollment(core, reply))) return;
    taken = await core.takeCredential(reply.bus_credential, "hello reply", { helloAfterSwitch: !full });
    // The new connection said hello itself; this reply (minimal, or a pending snapshot) has nothing more to say.
    if (taken === "switched" && !full) return;
  }
  await applyReply(core, reply);
  if (taken === "regranted") core.scheduleHello(0, "new bus grant");
  else if (taken === "switched" && reply.status === "active" && missesScenario(core, reply.scenario))
    // Its scenario push went out while it was on the bootstrap connection: a hello as itself brings it again.
    core.scheduleHello(0, "scenario not held");
}

/** Whether the Mixer holds a scenario for this Rack that the Rack does not hold (that version). */
function missesScenario(core: AgentCore, scenario: HelloReply["scenario"]): boolean {
  if (scenario === undefined) return false;
  const held = core.scenario?.scenario;
  return held?.name !== scenario.name || held.version !== scenario.version;
}

function afterHelloFailure(core: AgentCore): void {
  if (core.state === "active") {
    // A running Rack with a valid passport keeps running without the Mixer, but still asks until it answers:
    // the session is only recovered (heartbeat interval, status, scenario) once a hello gets through.
    armPassportTimers(core);
    core.schedulePaced("enroll", "retry");
  } else if (core.state === "pending") core.schedulePaced("pending", "retry");
  else if (isPassive(core.state)) core.schedulePaced("rejected", "retry");
  else core.schedulePaced("enroll", "retry");
}

/** Acts on a hello reply; see reply-policy.ts for what each reply means. */
export async function applyReply(core: AgentCore, reply: HelloReply): Promise<void> {
  const { id } = core;
  const decision = decideReply(reply, id.pin?.publicKeyB64 ?? null);
  if (decision.kind === "foreign_cluster") {
    const error = new ClusterKeyMismatchError({
      pinnedKeyId: id.pin?.keyId ?? "?",
      offeredKeyId: decision.offeredKeyId,
    });
    core.log.error({ err: error, offered_key: decision.offeredKey }, "cluster: FOREIGN CLUSTER KEY REFUSED");
    return core.schedulePaced("refused", "foreign cluster");
  }
  if (
    (decision.kind === "pending" || decision.kind === "active") &&
    !(await pinOnFirstEnrollment(core, reply))
  )
    return;
  core.setHeartbeatInterval(reply.heartbeat_interval_ms);
  if (id.passport === null) {
    if (reply.entity_id !== undefined) id.entityId = reply.entity_id;
    if (reply.machine_id !== undefined) id.machineId = reply.machine_id;
  }

  switch (decision.kind) {
    case "pending":
      if (id.passport !== null) await dropPassport(core, "withdrawn", decision.reason);
      await core.move({ type: "enrollment_pending", reason: decision.reason });
      return core.schedulePaced("pending", "still pending");
    case "active":
      if (decision.passport !== undefined) {
        if (!(await acceptPassport(core, decision.passport, "hello reply")))
          core.schedulePaced("enroll", "passport refused");
      } else if (core.state === "active" && id.passport !== null) {
        armPassportTimers(core);
      } else {
        core.log.warn("hello: the Mixer answered active without a passport; asking again");
        core.schedulePaced("enroll", "no passport");
      }
      return;
    case "rejected":
      if (id.passport !== null) await dropPassport(core, "rejected", decision.reason);
      await core.move({ type: "rejected", reason: decision.reason });
      return core.schedulePaced("rejected", "rejected");
    case "revoked":
      await revoke(core, decision.reason);
      return core.schedulePaced("rejected", "revoked");
    case "name_taken":
      // Another key holds this name (this machine was replaced, or the name is misconfigured): passive.
      core.log.error({ code: "name_taken", state: core.state }, decision.reason);
      if (id.passport !== null) await dropPassport(core, "name-taken", decision.reason);
      core.scenario = undefined;
      await removeScenarioFile(core.deps.paths.scenario);
      await core.move({ type: "name_taken", reason: decision.reason });
      // The refused pace, not the rejected one: an operator who replaces the old machine wants this one up soon, and
      // on a JWT bus this Rack hears nothing until its next hello.
      return core.schedulePaced("refused", "name taken");
    case "passport_refused":
      await dropPassport(core, "refused", decision.reason);
      await core.move({ type: "passport_lost", reason: decision.reason });
      return core.schedulePaced("enroll", "enroll with the key alone");
    case "retry":
      core.log[decision.level]({ code: decision.code, state: core.state }, decision.reason);
      if (core.state === "active") return armPassportTimers(core);
      return core.schedulePaced(decision.pace, decision.code);
  }
}

/** Pins the reply's Cluster Key when none is pinned yet; false (and a retry scheduled) when rack.json cannot hold it. */
async function pinOnFirstEnrollment(core: AgentCore, reply: HelloReply): Promise<boolean> {
  const { id } = core;
  if (id.pin !== null) return true;
  const pin = makePin({ publicKeyB64: reply.cluster_public_key, source: "enrollment", now: core.now() });
  try {
    await writePinFile(core.deps.paths.rackJson, pin);
  } catch (error) {
    // Not pinned until rack.json holds it (a pin only in memory is gone at the next start); ask again later.
    core.log.error(
      { err: error, path: core.deps.paths.rackJson },
      "cluster: cannot store the Mixer's key in rack.json (is the state dir writable?); asking again later",
    );
    core.schedulePaced("enroll", "rack.json not writable");
    return false;
  }
  id.pin = pin;
  core.log.warn(
    { cluster_key_id: pin.keyId },
    "cluster: pinned the Mixer's key on first enrollment (set [cluster] public_key to pin it explicitly)",
  );
  return true;
}
