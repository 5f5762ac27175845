// The one place a Rack's status changes: each change is written with its audit event, then announced to the Rack,
// and the bus follows: a fresh credential with every grant that grows, the revocation list pushed after a cut-off.
import type { PassportEnvelope } from "@fluxrig/passport";
import type { BusCredential, ScenarioPush } from "@fluxrig/wire";
import type { Logger } from "pino";
import type { BusCredentials } from "../bus-auth/bus-credentials.js";
import type { PassportIssuer } from "../passports/passport-issuer.js";
import { canonicalJson } from "../registry/audit-chain.js";
import type { EnrollmentTokenRefusal } from "../registry/enrollment-token-list.js";
import type { RackDirectory } from "../registry/rack-directory.js";
import type { RackStatus } from "../registry/rack-status.js";
import { UnexpectedStatusError } from "../registry/registry-errors.js";
import type { MachineIdRange, RackRecord } from "../registry/registry-records.js";
import type { RegistryWrites } from "../registry/registry-writer.js";
import {
  assertExpectedKey,
  hasHostEvidence,
  planAttributes,
  planDeleteRack,
  planEnrollmentTokenRefused,
  planInsertRack,
  planNameConflict,
  planPassportIssued,
  planSetStatus,
  planSpendEnrollmentToken,
  stagedRack,
} from "../registry/write-plans.js";
import type { WriteStage } from "../registry/write-stage.js";
import type { Clock, Counters } from "../runtime/counters.js";
import type { RackNotifier } from "./rack-notifier.js";
import { RevocationSync, type RevocationSyncOptions } from "./revocation-sync.js";

/** Who and why, for the audit log: `cause` is auto_adopt, scenario <name>, operator, presence, renewal, hello... */
export interface ChangeReason {
  cause: string;
  actor: string;
  details?: Record<string, unknown>;
  /**
   * An enrollment token's id: one of its uses is spent in the same write as the activation, judged in the writer's
   * stage, so concurrent hellos never spend it past its uses. Refused with EnrollmentTokenRefusedError, nothing
   * written.
   */
  enrollmentToken?: string;
}

/** Gives the execution logic a Rack should run under the active scenario, if any. */
export interface ScenarioSource {
  pushFor(name: string, now: Date): ScenarioPush | null;
}

export interface RackStatusChangesDeps {
  writer: RegistryWrites;
  directory: RackDirectory;
  issuer: PassportIssuer;
  notifier: RackNotifier;
  scenarios: ScenarioSource;
  clock: Clock;
  logger: Logger;
  counters: Counters;
  /**
   * The bus credentials (`OPEN_BUS` when `[nats] auth = "none"`): a credential rides with every passport
   * issued or renewed and goes before every scenario change; the revocation list is pushed after every cut-off.
   */
  credentials: BusCredentials;
  /**
   * How the revocation list is kept on the bus: `horizonMs` (default: the passport TTL) is how long a revocation
   * must stay, retry and prune timings for tests, `leader` whether this Mixer runs the timed prune (cluster mode).
   */
  revocations?: Partial<
    Pick<RevocationSyncOptions, "horizonMs" | "retryMs" | "retryMaxMs" | "pruneEveryMs" | "leader">
  >;
}

/** A new Rack's first hello, and whether it is adopted at once (auto_adopt, or named by the active scenario). */
export interface EnrollInput {
  name: string;
  publicKey: string;
  version: string;
  attributes: Record<string, unknown>;
  source: string | null;
  machineIdRange: MachineIdRange;
  adopt?: ChangeReason;
  /** A presented enrollment token that adopts nobody: recorded with the pending Rack, in the same write. */
  tokenRefusal?: { reason: EnrollmentTokenRefusal; token?: string };
}

type Activation = ChangeReason & { kind?: "issued" | "renewed" };

/** One Rack's outcome in {@link RackStatusChanges.activateMany}: its record and passport, or why it was refused. */
export type ActivationOutcome =
  | { ok: true; rack: RackRecord; passport: PassportEnvelope }
  | { ok: false; error: unknown };

export class RackStatusChanges {
  readonly #d: RackStatusChangesDeps;
  readonly #revocations: RevocationSync;

  constructor(deps: RackStatusChangesDeps) {
    this.#d = deps;
    this.#revocations = new RevocationSync({
      credentials: deps.credentials,
      writer: deps.writer,
      clock: deps.clock,
      logger: deps.logger,
      counters: deps.counters,
      horizonMs: deps.issuer.ttlMs,
      ...deps.revocations,
    });
  }

  /** Prunes expired bus revocations now and hourly (and pushes the shorter list). */
  startRevocationUpkeep(): void {
    this.#revocations.start();
  }

  /** Prunes expired bus revocations once; how many went. */
  pruneRevocations(): Promise<number> {
    return this.#revocations.prune();
  }

  /** Stops the revocation timers and waits for a push under way. */
  close(): Promise<void> {
    return this.#revocations.close();
  }

  /**
   * Creates a pending Rack, and when `adopt` is given activates it with its passport in the SAME transaction, so no
   * Rack is ever active without its passport recorded. Refuses a taken name or key, or a full MachineID range,
   * with nothing written.
   */
  async enroll(input: EnrollInput): Promise<{ rack: RackRecord; passport?: PassportEnvelope }> {
    const now = this.#d.clock();
    const { adopt } = input;
    const done = await this.#d.writer.submit((stage): { rack: RackRecord; envelope?: PassportEnvelope } => {
      const inserted = planInsertRack(stage, {
        name: input.name,
        publicKey: input.publicKey,
        status: "pending",
        version: input.version,
        attributes: input.attributes,
        source: input.source,
        cause: "enrollment",
        actor: "rack",
        now,
        machineIdRange: input.machineIdRange,
      });
      if (input.tokenRefusal) planEnrollmentTokenRefused(stage, inserted, input.tokenRefusal, now);
      return adopt ? this.#planActivation(stage, inserted.entityId, adopt, now) : { rack: inserted };
    });
    if (adopt && done.envelope) {
      // The hello that enrolled it carries this passport (on the bootstrap path the Rack's next hello, as itself,
      // gets it from the registry), so it is not pushed too: that push cost a signature and a bus credential per
      // enrolled Rack and reached a Rack that already had the passport, or, on the bootstrap connection, no one. The
      // enrollment's own log line says it was adopted: one line per Rack, not two, in a flood of them.
      this.#d.counters.inc("passport.issued");
      this.pushScenario(done.rack.name, now);
    }
    return done.envelope ? { rack: done.rack, passport: done.envelope } : { rack: done.rack };
  }

  /** Records that `rack`'s hello carried an enrollment token that adopts nobody (it stays pending). */
  async recordEnrollmentTokenRefusal(
    rack: RackRecord,
    refusal: { reason: EnrollmentTokenRefusal; token?: string },
  ): Promise<void> {
    const now = this.#d.clock();
    await this.#d.writer.submit((stage) => planEnrollmentTokenRefused(stage, rack, refusal, now));
  }

  /**
   * Makes a Rack active and issues its passport in ONE transaction, so no Rack is ever active without a passport or
   * holds a passport the registry does not know. Then pushes the passport and its scenario.
   */
  async activate(
    rack: RackRecord,
    why: Activation,
  ): Promise<{ rack: RackRecord; passport: PassportEnvelope }> {
    const now = this.#d.clock();
    const { rack: updated, envelope } = await this.#d.writer.submit((stage) =>
      this.#planActivation(stage, rack.entityId, why, now),
    );
    this.#announceActive(updated, rack.status, why, envelope, now);
    return { rack: updated, passport: envelope };
  }

  /**
   * {@link activate} for many Racks at once (bulk adopt): every activation is queued before the writer runs, so
   * they are planned in one batch (passports signed back to back) and committed in one transaction, with their
   * audit events appended to the chain in one go. Each is still refused on its own (an illegal transition, a
   * status changed meanwhile) without failing the others. The pushes go out after the commit, none awaited.
   */
  async activateMany(racks: readonly RackRecord[], why: Activation): Promise<ActivationOutcome[]> {
    const now = this.#d.clock();
    const settled = await Promise.allSettled(
      racks.map((rack) =>
        this.#d.writer.submit((stage) => this.#planActivation(stage, rack.entityId, why, now)),
      ),
    );
    return settled.map((result, i): ActivationOutcome => {
      if (result.status === "rejected") return { ok: false, error: result.reason };
      const { rack, envelope } = result.value;
      this.#announceActive(rack, racks[i]!.status, why, envelope, now);
      return { ok: true, rack, passport: envelope };
    });
  }

  /**
   * Sends the active scenario's logic for this Rack, if it has any, as it is (a hello's session recovery). The Rack's
   * bus grant is unchanged: the hello reply carries its credential.
   */
  pushScenario(name: string, now = this.#d.clock()): void {
    const push = this.#d.scenarios.pushFor(name, now);
    if (push) this.#d.notifier.scenario(name, push);
  }

  /**
   * The active scenario changed for this Rack (activated, switched): an adopted Rack first gets a `credential` push,
   * since its bus grant follows the wires of its push (SPEC §11) and it reconnects with the new grant; then the
   * scenario push. Only here, never on a hello: a credential push makes the Rack reconnect.
   */
  pushScenarioChange(name: string, now = this.#d.clock()): void {
    const push = this.#d.scenarios.pushFor(name, now);
    if (!push) return;
    const rack = this.#d.directory.rackByName(name);
    if (rack && (rack.status === "active" || rack.status === "offline")) {
      const credential = this.#credential(rack, push, now);
      if (credential) {
        // The wire has no "offline": to the Rack an offline row is still adopted.
        this.#d.notifier.passport({
          name,
          kind: "credential",
          status: "active",
          busCredential: credential,
          now,
        });
      }
    }
    this.#d.notifier.scenario(name, push);
  }

  /**
   * A status change that carries no passport: reject, revoke, offline, back online. A reject or revoke resolves once
   * nats-server has the revocation (the Rack is cut off), or once the push failed (logged, counted, retried).
   */
  async setStatus(rack: RackRecord, to: RackStatus, why: ChangeReason): Promise<RackRecord> {
    const now = this.#d.clock();
    const { updated, revoked } = await this.#d.writer.submit((stage) => ({
      updated: planSetStatus(stage, rack.entityId, to, { ...why, now, expectFrom: rack.status }),
      revoked: stage.revokesKeys,
    }));
    if (to === "rejected" || to === "revoked") this.#announceRefused(updated, rack.status, to, why, now);
    if (revoked) await this.#revocations.push();
    return updated;
  }

  /**
   * Deletes the row (its MachineID is tombstoned while a passport naming it could be valid) and tells the Rack.
   * With `expectFrom`, refuses with UnexpectedStatusError (nothing written) if the status changed meanwhile.
   */
  async remove(
    rack: RackRecord,
    why: ChangeReason & { expectFrom?: RackStatus },
  ): Promise<{ machineId: number; reusableAfter: Date }> {
    const now = this.#d.clock();
    const { deleted, revoked } = await this.#d.writer.submit((stage) => {
      const current = stagedRack(stage, rack.entityId);
      if (why.expectFrom !== undefined && current.status !== why.expectFrom) {
        throw new UnexpectedStatusError(why.expectFrom, current.status, rack.entityId);
      }
      const removed = planDeleteRack(stage, rack.entityId, { cause: why.cause, actor: why.actor, now });
      return { deleted: removed, revoked: stage.revokesKeys };
    });
    this.#announceRemoved(rack.name, why, now);
    if (revoked) await this.#revocations.push();
    return { machineId: deleted.machineId, reusableAfter: deleted.reusableAfter };
  }

  /**
   * Hands a Rack's name to another key, in one transaction: the old Rack is revoked (if it was adopted) and removed,
   * its MachineID kept for the new key when asked (the tombstone dropped), the name's conflicts cleared, and the new
   * key enrolled as pending. The old key is revoked on the bus in the same write, and pushed before this resolves.
   * Adopting the new key is the caller's next step.
   */
  async replace(
    old: RackRecord,
    opts: {
      publicKey: string;
      source: string | null;
      /** What the claiming key reported in its refused hellos (its name conflict record), when known. */
      attributes?: Record<string, unknown> | null;
      version?: string | null;
      keepMachineId: boolean;
      why: ChangeReason;
    },
  ): Promise<RackRecord> {
    const now = this.#d.clock();
    const why = { ...opts.why, cause: "replaced" };
    const { created, revoked, cutOff } = await this.#d.writer.submit((stage) => {
      const current = stagedRack(stage, old.entityId);
      const revoke =
        current.status !== "revoked" && current.status !== "rejected" && current.status !== "pending";
      if (revoke) planSetStatus(stage, old.entityId, "revoked", { ...why, now, expectFrom: current.status });
      const removed = planDeleteRack(stage, old.entityId, { cause: why.cause, actor: why.actor, now });
      // The operator hands the MachineID on: the old key can no longer use it (its row is gone and its name taken).
      if (opts.keepMachineId) stage.deleteTombstone(removed.machineId);
      stage.recordConflict({ kind: "clear", name: current.name });
      const inserted = planInsertRack(stage, {
        name: current.name,
        publicKey: opts.publicKey,
        status: "pending",
        version: opts.version ?? "unknown",
        // The claimant's own report, kept with its name conflict: adopted attributes never change afterwards.
        attributes: { ...(opts.attributes ?? {}), public_key: opts.publicKey },
        source: opts.source,
        cause: "replaced",
        actor: why.actor,
        now,
        ...(opts.keepMachineId ? { machineId: removed.machineId } : {}),
      });
      return { created: inserted, revoked: revoke ? current.status : null, cutOff: stage.revokesKeys };
    });
    if (revoked) this.#announceRefused({ ...old, status: "revoked" }, revoked, "revoked", why, now);
    this.#announceRemoved(old.name, why, now);
    if (cutOff) await this.#revocations.push();
    return created;
  }

  /**
   * A known Rack said hello: its count, source and version are kept in memory and written by the next flush. A
   * pending Rack's changed attributes are written at once (rare), since they are evidence for its adoption; so is
   * the first report of an adopted Rack that has none (see planAttributes).
   */
  async noteHello(
    rack: RackRecord,
    hello: { version: string; attributes: Record<string, unknown>; source: string | null; now: Date },
  ): Promise<RackRecord> {
    const noted = this.#d.directory.noteHello(rack.entityId, hello) ?? rack;
    if (noted.status !== "pending" && hasHostEvidence(noted.attributes)) return noted;
    const attributes = { ...hello.attributes, public_key: noted.lifecycle.publicKey };
    if (canonicalJson(attributes) === canonicalJson(noted.attributes)) return noted;
    await this.#d.writer.submit((stage) =>
      planAttributes(stage, rack.entityId, attributes, { now: hello.now, actor: "rack" }),
    );
    return this.#d.directory.rack(rack.entityId) ?? noted;
  }

  /** Counts one more attempt of another key at a taken name, for the operator (no audit event). */
  async recordNameConflict(input: {
    name: string;
    claimedPublicKey: string;
    holderEntityId: bigint | null;
    source: string | null;
    /** What the claiming key's signed hello reported: the evidence its row gets if the name is handed to it. */
    attributes?: Record<string, unknown>;
    version?: string;
  }): Promise<void> {
    const now = this.#d.clock();
    await this.#d.writer.submit((stage) => planNameConflict(stage, { ...input, now }));
  }

  /** Writes the hello facts noted since the last flush, in one batch; they stay pending if the write fails. */
  async flushHelloFacts(): Promise<number> {
    const ids = this.#d.directory.takeDirty();
    if (ids.length === 0) return 0;
    try {
      return await this.#d.writer.submit((stage) => {
        for (const id of ids) if (stage.rack(id)) stage.touch(id);
        return ids.length;
      });
    } catch (error) {
      this.#d.directory.markDirty(ids);
      throw error;
    }
  }

  #planActivation(
    stage: WriteStage,
    entityId: bigint,
    why: Activation,
    now: Date,
  ): { rack: RackRecord; envelope: PassportEnvelope } {
    const current = stagedRack(stage, entityId);
    assertExpectedKey(stage, current);
    if (why.enrollmentToken !== undefined) planSpendEnrollmentToken(stage, why.enrollmentToken, current, now);
    if (current.status !== "active") {
      planSetStatus(stage, entityId, "active", { ...why, now, expectFrom: current.status });
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
    const recorded = planPassportIssued(stage, entityId, {
      serial,
      issuedAt: new Date(signed.payload.issued_at),
      expiresAt: new Date(signed.payload.expires_at),
      actor: why.actor,
      cause: why.cause,
    });
    return { rack: recorded, envelope: signed.envelope };
  }

  #announceActive(
    rack: RackRecord,
    from: RackStatus,
    why: Activation,
    envelope: PassportEnvelope,
    now: Date,
    log = true,
  ): void {
    const kind = why.kind ?? (from === "active" || from === "offline" ? "renewed" : "issued");
    this.#d.counters.inc(`passport.${kind}`);
    // The credential for the Rack's new state rides with its passport (adopted: its grown grant; renewed: a fresh
    // one), for the scenario push that follows; so the scenario push needs no credential push of its own.
    const push = this.#d.scenarios.pushFor(rack.name, now);
    const credential = this.#credential(rack, push, now);
    this.#d.notifier.passport({
      name: rack.name,
      kind,
      status: "active",
      passport: envelope,
      now,
      ...(credential ? { busCredential: credential } : {}),
    });
    if (log && from !== "active") {
      this.#d.logger.info(
        { rack: rack.name, entity_id: rack.entityId.toString(), from, cause: why.cause, actor: why.actor },
        "rack active",
      );
    }
    if (push) this.#d.notifier.scenario(rack.name, push);
  }

  /**
   * A credential for an adopted Rack's key with the grant of `push` (its gears' wires), or null (`none` mode, or the
   * credentials failed: logged and counted, the Rack keeps its current grant and renews at its next hello).
   */
  #credential(rack: RackRecord, push: ScenarioPush | null, now: Date): BusCredential | null {
    try {
      return this.#d.credentials.issue(
        {
          name: rack.name,
          status: rack.status,
          publicKey: rack.lifecycle.publicKey,
          scenario: push ?? undefined,
        },
        now,
      );
    } catch (error) {
      this.#d.counters.inc("bus.credential_issue_failed");
      this.#d.logger.error(
        { rack: rack.name, err: (error as Error).message },
        "issuing a bus credential failed; the Rack keeps its current one until its next hello",
      );
      return null;
    }
  }

  #announceRefused(
    rack: RackRecord,
    from: RackStatus,
    to: "rejected" | "revoked",
    why: ChangeReason,
    now: Date,
  ): void {
    this.#d.notifier.passport({
      name: rack.name,
      kind: to === "revoked" ? "revoked" : "status",
      status: to,
      reason: why.details?.reason === undefined ? why.cause : String(why.details.reason),
      now,
    });
    this.#d.logger.info({ rack: rack.name, from, to, cause: why.cause, actor: why.actor }, `rack ${to}`);
  }

  #announceRemoved(name: string, why: ChangeReason, now: Date): void {
    this.#d.notifier.passport({ name, kind: "status", status: "removed", reason: why.cause, now });
    this.#d.logger.info({ rack: name, cause: why.cause, actor: why.actor }, "rack removed");
  }
}
