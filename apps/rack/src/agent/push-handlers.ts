// What the Mixer pushes to this Rack: passports (verified before they count) and scenarios (cached until active).
import {
  type DecodeResult,
  decodePassportPush,
  decodeScenarioPush,
  type PassportPush,
  type ScenarioPush,
} from "@fluxrig/wire";
import { describeRefusal } from "../identity/passport-checks.js";
import { jitter } from "../lifecycle/backoff.js";
import { writeScenarioFile } from "../scenario-cache.js";
import type { AgentCore } from "./agent-core.js";
import { acceptPassport, revoke, verifyForRack } from "./passport-keeper.js";

/**
 * A passport push. An issued or renewed passport that verifies is adopted at once; a signed revocation is
 * obeyed at once; anything else (status changes, unverifiable passports) is a hint, answered with a hello.
 */
export async function onPassportPush(core: AgentCore, data: Uint8Array): Promise<void> {
  const push = decodedOrDropped(core, decodePassportPush(data), "passport push");
  if (push === undefined) return;
  core.log.info({ kind: push.kind, status: push.status, reason: push.reason }, "passport push: received");
  if (push.kind === "revoked" || push.status === "revoked") return onRevocationPush(core, push);
  // The credential first: gears started by an adoption then run under the grant that allows their wires.
  if (push.bus_credential !== undefined) {
    const taken = await core.takeCredential(push.bus_credential, `${push.kind} push`);
    if (taken === "switched" || push.kind === "credential") return;
  }
  if (push.passport !== undefined && push.status === "active") {
    if (await acceptPassport(core, push.passport, `${push.kind} push`)) return;
  }
  core.scheduleHello(jitter(250, 0.5), `${push.kind} push`);
}

async function onRevocationPush(core: AgentCore, push: PassportPush): Promise<void> {
  if (push.passport !== undefined && core.id.pin !== null) {
    try {
      if (verifyForRack(core, push.passport, true).status === "revoked") {
        await revoke(core, `signed revocation pushed${push.reason ? `: ${push.reason}` : ""}`);
        // Passive from now on: it still asks, at the slow pace, so a later adoption finds it.
        return core.schedulePaced("rejected", "revoked");
      }
    } catch (error) {
      core.log.error(
        { ...describeRefusal(error) },
        "passport push: revocation does not verify; confirming with a hello",
      );
    }
  } else {
    core.log.warn("passport push: unsigned revocation; confirming with a hello");
  }
  core.scheduleHello(0, "confirm revocation");
}

/** A scenario push: applied (and kept in scenario.json) when active, cached until adoption otherwise. */
export async function onScenarioPush(core: AgentCore, data: Uint8Array): Promise<void> {
  const push = decodedOrDropped(core, decodeScenarioPush(data), "scenario push");
  if (push === undefined) return;
  await applyScenarioPush(core, push, "scenario push");
}

/**
 * Takes a verified scenario push as the one this Rack runs: applied (and kept in scenario.json) when active, cached
 * until adoption otherwise. `source` names where it came from in the log (`scenario push`, `rack state`).
 */
export async function applyScenarioPush(core: AgentCore, push: ScenarioPush, source: string): Promise<void> {
  core.scenario = push;
  const fields = { scenario: push.scenario.name, version: push.scenario.version, gears: push.gears.length };
  if (core.state !== "active") {
    core.log.info(fields, `${source}: cached until this Rack is adopted`);
    return;
  }
  core.log.info(fields, `${source}: applying`);
  if (!(await core.workloads.applyScenario(push))) await core.startGears();
  await writeScenarioFile(core.deps.paths.scenario, push);
}

/** The decoded push, or undefined after logging why it was dropped. */
export function decodedOrDropped<T>(core: AgentCore, decoded: DecodeResult<T>, what: string): T | undefined {
  if (decoded.ok) return decoded.value;
  core.log.warn({ reason: decoded.error.message }, `${what}: dropped (does not match its schema)`);
  return undefined;
}
