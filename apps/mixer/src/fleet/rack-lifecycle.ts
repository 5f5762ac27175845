// The one place a Rack's status changes: each change is written with its audit event, then announced to the Rack.
import type { PassportEnvelope } from "@fluxrig/passport";
import type { ScenarioPush } from "@fluxrig/wire";
import type { Logger } from "pino";
import type { Db } from "../db/duckdb-database.js";
import type { PassportIssuer } from "../passports/passport-issuer.js";
import type { PresenceTracker } from "../presence/presence-tracker.js";
import type { RackStatus } from "../registry/rack-status.js";
import { deleteRack, setRackStatus } from "../registry/rack-status-writes.js";
import { recordPassportIssued, requireRack } from "../registry/rack-writes.js";
import type { RackRecord } from "../registry/registry-records.js";
import type { Clock, Counters } from "../runtime/counters.js";
import type { RackNotifier } from "./rack-notifier.js";

/** Who and why, for the audit log: `cause` is auto_adopt, scenario <name>, operator, presence, renewal, hello... */
export interface ChangeReason {
  cause: string;
  actor: string;
  details?: Record<string, unknown>;
}

/** Gives the execution logic a Rack should run under the active scenario, if any. */
export interface ScenarioSource {
  pushFor(name: string, now: Date): ScenarioPush | null;
}

export interface RackLifecycleDeps {
  db: Db;
  issuer: PassportIssuer;
  notifier: RackNotifier;
  presence: PresenceTracker;
  scenarios: ScenarioSource;
  clock: Clock;
  logger: Logger;
  counters: Counters;
}

export class RackLifecycle {
  readonly #d: RackLifecycleDeps;

  constructor(deps: RackLifecycleDeps) {
    this.#d = deps;
  }

  /**
   * Makes a Rack active and issues its passport in ONE transaction, so no Rack is ever active without a passport or
   * holds a passport the registry does not know. Then pushes the passport and its scenario.
   */
  async activate(
    rack: RackRecord,
    why: ChangeReason & { kind?: "issued" | "renewed" },
  ): Promise<{ rack: RackRecord; passport: PassportEnvelope }> {
    const now = this.#d.clock();
    const { rack: updated, envelope } = await this.#d.db.transaction(async () => {
      const current = await requireRack(this.#d.db, rack.entityId);
      if (current.status !== "active") {
        await setRackStatus(this.#d.db, rack.entityId, "active", { ...why, now, expectFrom: current.status });
      }
      const serial = current.lifecycle.passportSerial + 1;
      const signed = this.#d.issuer.sign(
        {
          entityId: current.entityId,
          machineId: current.machineId,
          name: current.name,
          publicKey: current.lifecycle.publicKey,
        },
        { serial, now },
      );
      const recorded = await recordPassportIssued(this.#d.db, rack.entityId, {
        serial,
        issuedAt: new Date(signed.payload.issued_at),
        expiresAt: new Date(signed.payload.expires_at),
        actor: why.actor,
        cause: why.cause,
      });
      return { rack: { ...recorded, status: "active" as const }, envelope: signed.envelope };
    });
    this.#d.presence.upsert({
      entityId: updated.entityId,
      name: updated.name,
      status: "active",
      lastSeenMs: now.getTime(),
    });
    const kind = why.kind ?? (rack.status === "active" || rack.status === "offline" ? "renewed" : "issued");
    this.#d.counters.inc(`passport.${kind}`);
    this.#d.notifier.passport({ name: updated.name, kind, status: "active", passport: envelope, now });
    if (rack.status !== "active") {
      this.#d.logger.info(
        {
          rack: updated.name,
          entity_id: updated.entityId.toString(),
          from: rack.status,
          cause: why.cause,
          actor: why.actor,
        },
        "rack active",
      );
    }
    this.pushScenario(updated.name, now);
    return { rack: updated, passport: envelope };
  }

  /** Sends the active scenario's logic for this Rack, if it has any. */
  pushScenario(name: string, now = this.#d.clock()): void {
    const push = this.#d.scenarios.pushFor(name, now);
    if (push) this.#d.notifier.scenario(name, push);
  }

  /** A status change that carries no passport: reject, revoke, offline, back online. */
  async setStatus(rack: RackRecord, to: RackStatus, why: ChangeReason): Promise<RackRecord> {
    const now = this.#d.clock();
    const updated = await setRackStatus(this.#d.db, rack.entityId, to, {
      ...why,
      now,
      expectFrom: rack.status,
    });
    this.#d.presence.upsert({ entityId: updated.entityId, name: updated.name, status: updated.status });
    if (to === "rejected" || to === "revoked") {
      this.#d.notifier.passport({
        name: updated.name,
        kind: to === "revoked" ? "revoked" : "status",
        status: to,
        reason: why.details?.reason === undefined ? why.cause : String(why.details.reason),
        now,
      });
      this.#d.logger.info(
        { rack: updated.name, from: rack.status, to, cause: why.cause, actor: why.actor },
        `rack ${to}`,
      );
    }
    return updated;
  }

  /** Deletes the row (its MachineID is tombstoned while a passport naming it could be valid) and tells the Rack. */
  async remove(rack: RackRecord, why: ChangeReason): Promise<{ machineId: number; reusableAfter: Date }> {
    const now = this.#d.clock();
    const deleted = await deleteRack(this.#d.db, rack.entityId, { cause: why.cause, actor: why.actor, now });
    this.#d.presence.remove(rack.name);
    this.#d.notifier.passport({ name: rack.name, kind: "status", status: "removed", reason: why.cause, now });
    this.#d.logger.info({ rack: rack.name, cause: why.cause, actor: why.actor }, "rack removed");
    return { machineId: deleted.machineId, reusableAfter: deleted.reusableAfter };
  }
}
