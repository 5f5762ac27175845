// Enrollment and session recovery on fluxrig.agent.hello: every check a hello must pass, and the reply it earns.

import {
  keyFingerprint,
  type PassportEnvelope,
  renewalDueAt,
  sealContext,
  sealReply,
} from "@fluxrig/passport";
import {
  decodeHelloRequest,
  encodeMessage,
  type HelloReply,
  type HelloRequest,
  helloSignatureInput,
  INBOX_PREFIXES,
  isTimestampFresh,
  looksLikeEntityId,
  type ScenarioPush,
  type WireErrorCode,
} from "@fluxrig/wire";
import type { Logger } from "pino";
import { type BusCredentials, OPEN_BUS } from "../bus-auth/bus-credentials.js";
import { refusalOf } from "../errors/wire-refusal.js";
import type { RackStatusChanges } from "../fleet/rack-status-changes.js";
import type { PassportIssuer } from "../passports/passport-issuer.js";
import type { PresenceTracker } from "../presence/presence-tracker.js";
import {
  type EnrollmentTokenList,
  type EnrollmentTokenRefusal,
  judgeEnrollmentToken,
} from "../registry/enrollment-token-list.js";
import type { ExpectedKeyLookup } from "../registry/expected-key-list.js";
import type { RackDirectory } from "../registry/rack-directory.js";
import {
  EnrollmentTokenRefusedError,
  NameTakenError,
  PublicKeyTakenError,
} from "../registry/registry-errors.js";
import type { RackRecord } from "../registry/registry-records.js";
import type { ClusterKey } from "../runtime/cluster-key.js";
import type { Clock, Counters } from "../runtime/counters.js";
import { KeyedMutex } from "../runtime/keyed-mutex.js";
import { type HelloEvidence, type HelloSource, helloEvidence } from "./hello-source.js";
import { NonceCache } from "./nonce-cache.js";
import { inlineVerifier, type SignatureVerifier } from "./signature-pool.js";

export interface EnrollmentOptions {
  autoAdopt: boolean;
  maxPending: number;
  machineIdMin: number;
  machineIdMax: number;
  clockSkewMs: number;
  heartbeatIntervalMs: number;
}

export interface HelloHandlerDeps {
  /** Every lookup a hello needs, in memory: refusals cost no database work at all. */
  directory: RackDirectory;
  lifecycle: RackStatusChanges;
  issuer: PassportIssuer;
  presence: PresenceTracker;
  clusterKey: ClusterKey;
  /** Names the active scenario deploys to: a Rack it names is adopted when it enrolls (Path B). */
  scenarioNames: () => ReadonlySet<string>;
  /** The scenario push an adopted Rack holds now (its wires are its bus grant); null when no scenario is active. */
  scenarioPush?: (name: string, now: Date) => ScenarioPush | null;
  /** Expected keys (racks expect): a name with one is adopted only with that key; none when absent. */
  expectedKeys?: ExpectedKeyLookup;
  /** Enrollment tokens a hello may present (issue 16); none are accepted when absent. */
  enrollmentTokens?: EnrollmentTokenList;
  /** Bus credentials for the replies (SPEC §11); {@link OPEN_BUS} (none) when absent. */
  credentials?: BusCredentials;
  clock: Clock;
  counters: Counters;
  logger: Logger;
  options: EnrollmentOptions;
  /** Where Ed25519 checks run (worker threads in the Mixer); inline when absent. */
  verifier?: SignatureVerifier;
}

export class HelloHandler {
  readonly #d: HelloHandlerDeps;
  readonly #nonces: NonceCache;
  readonly #perKey = new KeyedMutex();
  readonly #verifier: SignatureVerifier;
  /** New pending Racks being written right now: counted against max_pending before their rows exist. */
  #reservedPending = 0;
  /**
   * The last enrollment-token refusal recorded per pending key (`reason token`), so a pending Rack retrying with the
   * same bad token adds one audit event, not one per hello. Bounded: cleared when it outgrows max_pending twice.
   */
  readonly #tokenRefusalsNoted = new Map<string, string>();

  constructor(deps: HelloHandlerDeps) {
    this.#d = deps;
    this.#nonces = new NonceCache({ windowMs: deps.options.clockSkewMs });
    this.#verifier = deps.verifier ?? inlineVerifier();
  }

  /**
   * Handles one hello's bytes. Never throws: every failure becomes a refusal with a code. A reply to the shared
   * bootstrap inbox (`from.replySubject` under `_INBOX._bootstrap.`) is cut to {@link minimalReply}: every bootstrap
   * holder can read it.
   */
  async handle(data: Uint8Array, from: HelloSource): Promise<HelloReply> {
    const { reply, req } = await this.#answer(data, from);
    if (!isBootstrapInbox(from.replySubject)) return reply;
    const replyKey = req?.reply_key;
    if (
      req !== undefined &&
      replyKey !== undefined &&
      (reply.status === "pending" || reply.status === "active")
    )
      return this.#sealed(reply, req, replyKey);
    return minimalReply(reply);
  }

  /**
   * The full reply sealed to the hello's `reply_key` (checked by the hello's signature, so only the Rack holding the
   * hello's key can open it), behind the minimal reply's clear fields less the credential. An active Rack is told the
   * scenario it holds: its push went out while it could not hear it. The minimal reply when sealing fails.
   */
  #sealed(reply: HelloReply, req: HelloRequest, replyKey: string): HelloReply {
    try {
      const push = reply.status === "active" ? this.#d.scenarioPush?.(req.name, this.#d.clock()) : null;
      const full: HelloReply = push ? { ...reply, scenario: { ...push.scenario } } : reply;
      const sealed = sealReply({
        recipient: replyKey,
        plaintext: encodeMessage(full),
        context: sealContext(req.public_key),
      });
      const { bus_credential: _inside, ...clear } = minimalReply(reply);
      this.#d.counters.inc("hello.sealed");
      return { ...clear, sealed };
    } catch (err) {
      this.#d.counters.inc("hello.seal_failed");
      this.#d.logger.warn(
        { err, rack: req.name },
        "hello reply could not be sealed; sending the minimal reply",
      );
      return minimalReply(reply);
    }
  }

  async #answer(data: Uint8Array, from: HelloSource): Promise<{ reply: HelloReply; req?: HelloRequest }> {
    const decoded = decodeHelloRequest(data);
    if (!decoded.ok) {
      return { reply: this.#refuse(decoded.error.code, decoded.error.message) };
    }
    const req = decoded.value;
    return { reply: await this.#answerDecoded(req, from), req };
  }

  async #answerDecoded(req: HelloRequest, from: HelloSource): Promise<HelloReply> {
    const signed = helloSignatureInput(req);
    if (signed === undefined || !(await this.#verifier.verify(signed))) {
      return this.#refuse(
        "bad_signature",
        "the hello signature does not verify with the public key it names",
      );
    }
    const now = this.#d.clock();
    if (!isTimestampFresh(req.ts, now, this.#d.options.clockSkewMs)) {
      const offset = Math.round((Date.parse(req.ts) - now.getTime()) / 1000);
      return this.#refuse(
        "stale",
        `hello timestamp is ${Math.abs(offset)}s ${offset < 0 ? "behind" : "ahead of"} the Mixer's clock (allowed ${Math.round(this.#d.options.clockSkewMs / 1000)}s); check the Rack's clock`,
      );
    }
    if (!this.#nonces.remember(`${req.public_key}:${req.nonce}`, now.getTime())) {
      return this.#refuse("replay", "this hello's nonce was already used");
    }
    try {
      const evidence = helloEvidence(req.attributes, from);
      const reply = await this.#perKey.run(req.public_key, () => this.#enroll(req, evidence));
      return this.#withCredential(reply, req);
    } catch (err) {
      this.#d.counters.inc("hello.failed");
      this.#d.logger.error({ err, rack: req.name }, "hello failed");
      // The same mapping as the API's: a storage failure is `unavailable` (retry later), anything else `internal`.
      const refusal = refusalOf(err);
      return refusal === undefined
        ? this.#refuse("internal", "the Mixer could not process this hello; it will be retried", null)
        : this.#refuse(refusal.code, refusal.message, null);
    }
  }

  /**
   * The answer to a hello the Mixer will not look at now because `inFlight` hellos are already being worked on
   * (admission control): a Rack retries `unavailable` with its own jittered backoff, so a herd spreads itself out
   * instead of queueing past its request timeouts and asking again on top.
   */
  busy(inFlight: number): HelloReply {
    return this.#refuse(
      "unavailable",
      `the Mixer is busy (${inFlight} hellos in progress); retry with backoff`,
      "busy",
    );
  }

  async #enroll(
    req: HelloRequest,
    from: HelloEvidence,
    lostTokenRace?: { ok: false; reason: EnrollmentTokenRefusal; token?: string },
  ): Promise<HelloReply> {
    const { directory } = this.#d;
    const known = directory.rackByPublicKey(req.public_key);
    if (known) return this.#known(known, req, from);

    // A new key may not take a name that reads as an entity id: `racks show <it>` would find another Rack by id.
    // Racks enrolled under such a name before this rule keep it (their key is known above).
    if (looksLikeEntityId(req.name)) {
      return this.#refuse(
        "name_reserved",
        `the name ${req.name} reads as an entity id; give this Rack a name with a letter or a hyphen ([rack] name)`,
      );
    }

    const holder = directory.nameHolder(req.name);
    const expectation = this.#expectation(req);
    if (expectation === "other") {
      // An operator said which key this name is for (racks expect): any other key is a conflict, never adopted.
      await this.#d.lifecycle.recordNameConflict({
        name: req.name,
        claimedPublicKey: req.public_key,
        holderEntityId: holder ?? null,
        source: from.source,
        attributes: { ...from.attributes },
        version: req.version,
      });
      this.#d.logger.warn(
        { rack: req.name, source: from.source },
        "name conflict: a key other than the expected one claims the name",
      );
      return this.#refuse(
        "name_taken",
        `the name ${req.name} is reserved for another key (racks expect); an operator can change that`,
      );
    }
    if (holder !== undefined) {
      // Identity is the key; the name is a claim. Another key never takes a row over: the operator sees the attempt.
      await this.#d.lifecycle.recordNameConflict({
        name: req.name,
        claimedPublicKey: req.public_key,
        holderEntityId: holder,
        source: from.source,
        attributes: { ...from.attributes },
        version: req.version,
      });
      this.#d.logger.warn(
        { rack: req.name, source: from.source },
        "name conflict: another key claims a taken name",
      );
      return this.#refuse(
        "name_taken",
        `the name ${req.name} belongs to another key; an operator can hand it over with racks replace`,
      );
    }

    const byScenario = this.#d.scenarioNames().has(req.name);
    const judged = lostTokenRace ?? this.#judgeToken(req);
    const byExpected = expectation === "this";
    const byToken = !this.#d.options.autoAdopt && !byScenario && !byExpected && judged?.ok === true;
    const adopt = this.#d.options.autoAdopt || byScenario || byToken || byExpected;
    const cause = byExpected
      ? "expected_key"
      : this.#d.options.autoAdopt
        ? "auto_adopt"
        : byScenario
          ? "scenario"
          : "enrollment_token";
    const tokenRefusal = !adopt && judged !== undefined && !judged.ok ? judged : undefined;
    // Checked and reserved synchronously, so concurrent hellos cannot all pass the check before any row exists.
    if (!adopt && directory.count("pending") + this.#reservedPending >= this.#d.options.maxPending) {
      return this.#refuse(
        "too_many_pending",
        `${this.#d.options.maxPending} Racks already await adoption ([enrollment] max_pending)`,
      );
    }
    this.#reservedPending += 1;
    let enrolled: Awaited<ReturnType<RackStatusChanges["enroll"]>>;
    try {
      enrolled = await this.#d.lifecycle.enroll({
        name: req.name,
        publicKey: req.public_key,
        version: req.version,
        attributes: { ...from.attributes },
        source: from.source,
        machineIdRange: { min: this.#d.options.machineIdMin, max: this.#d.options.machineIdMax },
        ...(adopt
          ? {
              adopt: {
                cause,
                actor: "mixer",
                ...(byToken && judged?.ok ? { enrollmentToken: judged.token.id } : {}),
              },
            }
          : {}),
        ...(tokenRefusal ? { tokenRefusal: { reason: tokenRefusal.reason, token: tokenRefusal.token } } : {}),
      });
      if (tokenRefusal) this.#noteTokenRefusal(req.public_key, tokenRefusal);
    } catch (err) {
      if (err instanceof EnrollmentTokenRefusedError) {
        // Another hello spent the last use (or the token expired) between the look and the write: pending instead.
        this.#d.counters.inc("hello.enrollment_token.lost_race");
        return this.#enroll(req, from, { ok: false, reason: err.reason, token: err.tokenId });
      }
      if (err instanceof NameTakenError || err instanceof PublicKeyTakenError) {
        // Lost a race with another hello for the same name or key; that write has committed by now (a refusal
        // settles with its batch), so asking again answers as if this hello came second.
        return this.#enroll(req, from, lostTokenRace);
      }
      // A refusal the registry owes (no MachineID free, ...): answered with its code, not as a failure.
      const refusal = refusalOf(err);
      if (refusal === undefined) throw err;
      return this.#refuse(refusal.code, refusal.message);
    } finally {
      // The committed row is in the directory by now (the writer puts it on commit): the reservation is done.
      this.#reservedPending -= 1;
    }
    const { rack } = enrolled;
    this.#d.counters.inc("hello.enrolled");
    if (byToken && enrolled.passport) this.#d.counters.inc("hello.enrollment_token.adopted");
    this.#d.logger.info(
      {
        rack: rack.name,
        entity_id: rack.entityId.toString(),
        machine_id: rack.machineId,
        source: from.source,
        status: enrolled.passport ? "active" : "pending",
        ...(enrolled.passport ? { cause } : {}),
      },
      "rack enrolled",
    );
    if (enrolled.passport) return this.#reply(rack, "active", { passport: enrolled.passport });
    return this.#reply(rack, "pending");
  }

  /** A key the registry knows: its status decides the answer. */
  async #known(rack: RackRecord, req: HelloRequest, from: HelloEvidence): Promise<HelloReply> {
    if (rack.name !== req.name) {
      return this.#refuse("conflict", `this key is enrolled as ${rack.name}, not ${req.name}`);
    }
    const now = this.#d.clock();
    const noted = await this.#d.lifecycle.noteHello(rack, {
      version: req.version,
      attributes: { ...from.attributes },
      source: from.source,
      now,
    });
    this.#d.presence.touch(rack.name, now.getTime());
    switch (noted.status) {
      case "rejected":
        this.#d.counters.inc("hello.rejected");
        return this.#reply(noted, "rejected", {
          error: { code: "rejected", message: "an operator rejected this Rack" },
        });
      case "revoked":
        this.#d.counters.inc("hello.revoked");
        return this.#reply(noted, "revoked", {
          error: { code: "revoked", message: "this Rack's passport was revoked" },
        });
      case "pending": {
        const expectation = this.#expectation(req);
        // Enrolled before its name got an expected key, with another key: it stays pending whatever else says adopt.
        if (expectation === "other") return this.#reply(noted, "pending");
        if (expectation === "this" || this.#d.scenarioNames().has(noted.name)) {
          const { passport } = await this.#d.lifecycle.activate(noted, {
            cause: expectation === "this" ? "expected_key" : "scenario",
            actor: "mixer",
            kind: "issued",
          });
          return this.#reply(noted, "active", { passport });
        }
        return this.#pendingWithToken(noted, req);
      }
      case "active":
      case "offline":
        return this.#recover(noted, req);
    }
  }

  /**
   * A pending Rack's hello: adopted when it presents an enrollment token that admits it (one use spent in the same
   * write), otherwise still pending, the token's refusal recorded once per reason.
   */
  async #pendingWithToken(rack: RackRecord, req: HelloRequest): Promise<HelloReply> {
    const judged = this.#judgeToken(req);
    if (judged === undefined) return this.#reply(rack, "pending");
    if (judged.ok) {
      try {
        const { passport } = await this.#d.lifecycle.activate(rack, {
          cause: "enrollment_token",
          actor: "mixer",
          kind: "issued",
          enrollmentToken: judged.token.id,
        });
        this.#d.counters.inc("hello.enrollment_token.adopted");
        this.#tokenRefusalsNoted.delete(req.public_key);
        return this.#reply(rack, "active", { passport });
      } catch (err) {
        if (!(err instanceof EnrollmentTokenRefusedError)) throw err;
        this.#d.counters.inc("hello.enrollment_token.lost_race");
        return this.#tokenRefused(rack, req, { reason: err.reason, token: err.tokenId });
      }
    }
    return this.#tokenRefused(rack, req, judged);
  }

  async #tokenRefused(
    rack: RackRecord,
    req: HelloRequest,
    refusal: { reason: EnrollmentTokenRefusal; token?: string | undefined },
  ): Promise<HelloReply> {
    if (this.#noteTokenRefusal(req.public_key, refusal)) {
      await this.#d.lifecycle.recordEnrollmentTokenRefusal(rack, {
        reason: refusal.reason,
        ...(refusal.token === undefined ? {} : { token: refusal.token }),
      });
    }
    return this.#reply(rack, "pending");
  }

  /** Whether the hello's name has an expected key, and whether it is this hello's: none, this, other. */
  #expectation(req: HelloRequest): "none" | "this" | "other" {
    const expected = this.#d.expectedKeys?.expectedKey(req.name);
    if (expected === undefined) return "none";
    return keyFingerprint(req.public_key) === expected.keyFingerprint ? "this" : "other";
  }

  /** What the hello's enrollment token earns its name now; undefined when it presents none. Never logs the secret. */
  #judgeToken(req: HelloRequest): ReturnType<typeof judgeEnrollmentToken> | undefined {
    if (req.enrollment_token === undefined) return undefined;
    this.#d.counters.inc("hello.enrollment_token.presented");
    const token = this.#d.enrollmentTokens?.bySecret(req.enrollment_token);
    const judged = judgeEnrollmentToken(token, req.name, this.#d.clock());
    if (!judged.ok) this.#d.counters.inc(`hello.enrollment_token.refused.${judged.reason}`);
    return judged;
  }

  /** Whether this refusal is new for this key (and so goes to the audit log); remembers it. */
  #noteTokenRefusal(
    publicKey: string,
    refusal: { reason: EnrollmentTokenRefusal; token?: string | undefined },
  ): boolean {
    const said = `${refusal.reason} ${refusal.token ?? ""}`;
    if (this.#tokenRefusalsNoted.get(publicKey) === said) return false;
    if (this.#tokenRefusalsNoted.size >= 2 * this.#d.options.maxPending) this.#tokenRefusalsNoted.clear();
    this.#tokenRefusalsNoted.set(publicKey, said);
    return true;
  }

  /** Session recovery: a valid passport is kept (or renewed past 2/3 of its life); anything else gets a new one. */
  async #recover(rack: RackRecord, req: HelloRequest): Promise<HelloReply> {
    const now = this.#d.clock();
    if (req.passport) {
      const check = this.#d.issuer.checkPresented(
        req.passport,
        {
          entityId: rack.entityId,
          machineId: rack.machineId,
          name: rack.name,
          publicKey: rack.lifecycle.publicKey,
          serial: rack.lifecycle.passportSerial,
        },
        now,
      );
      if (check.valid && !check.needsRenewal) {
        this.#d.counters.inc("hello.recovered");
        await this.#backOnline(rack);
        this.#d.lifecycle.pushScenario(rack.name, now);
        return this.#reply(rack, "active", { passport: req.passport });
      }
      if (!check.valid) {
        this.#d.counters.inc(`hello.passport_refused.${check.code}`);
        this.#d.logger.warn(
          { rack: rack.name, code: check.code, reason: check.reason },
          "presented passport refused; issuing a new one",
        );
      }
    }
    if (!req.passport) {
      // A Rack holding no passport (one that could not verify the passport pushed at its adoption, having no pinned
      // Cluster Key yet; one that lost state.flux) gets the passport on record while it is fresh: the serial that
      // `racks adopt`/`replace` printed and the audit log names, not a second one.
      const current = this.#currentPassport(rack, now);
      if (current !== undefined) {
        this.#d.counters.inc("hello.passport_resent");
        await this.#backOnline(rack);
        this.#d.lifecycle.pushScenario(rack.name, now);
        return this.#reply(rack, "active", { passport: current });
      }
    }
    // The key proved itself and the registry says adopted: renew rather than strand the Rack.
    const { passport } = await this.#d.lifecycle.activate(rack, {
      cause: "renewal",
      actor: "mixer",
      kind: "renewed",
    });
    this.#d.counters.inc("hello.renewed");
    return this.#reply(rack, "active", { passport });
  }

  async #backOnline(rack: RackRecord): Promise<void> {
    if (rack.status !== "offline") return;
    await this.#d.lifecycle.setStatus(rack, "active", {
      cause: "presence",
      actor: "mixer",
      details: { via: "hello" },
    });
  }

  /**
   * Adds the bus credential a pending or active reply earns, for the key this hello proved, with the grant the Rack's
   * state gives it. Only while the registry's row for that key still has this name: a row that changed hands since
   * (racks replace) earns the old key nothing, and refusals (name_taken, conflict, ...) never get here with a row.
   */
  #withCredential(reply: HelloReply, req: HelloRequest): HelloReply {
    if (reply.status !== "pending" && reply.status !== "active") return reply;
    const credentials = this.#d.credentials ?? OPEN_BUS;
    if (credentials.mode === "none") return reply;
    if (this.#d.directory.rackByPublicKey(req.public_key)?.name !== req.name) return reply;
    const now = this.#d.clock();
    const scenario =
      reply.status === "active" ? (this.#d.scenarioPush?.(req.name, now) ?? undefined) : undefined;
    try {
      const credential = credentials.issue(
        { name: req.name, status: reply.status, publicKey: req.public_key, scenario },
        now,
      );
      return credential === null ? reply : { ...reply, bus_credential: credential };
    } catch (err) {
      // The hello's own outcome stands; the Rack asks again for a credential with its next hello.
      this.#d.counters.inc("bus.credentials.failed");
      this.#d.logger.error({ err, rack: req.name }, "bus credential could not be issued");
      return reply;
    }
  }

  /** The Rack's last passport, signed again, while it is not yet due for renewal; undefined otherwise. */
  #currentPassport(rack: RackRecord, now: Date): PassportEnvelope | undefined {
    const {
      passportSerial: serial,
      passportIssuedAt: issuedAt,
      passportExpiresAt: expiresAt,
    } = rack.lifecycle;
    if (serial === 0 || issuedAt === null || expiresAt === null) return undefined;
    const recorded = { issued_at: issuedAt.toISOString(), expires_at: expiresAt.toISOString() };
    if (now.getTime() >= renewalDueAt(recorded)) return undefined;
    const subject = {
      entityId: rack.entityId,
      machineId: rack.machineId,
      name: rack.name,
      publicKey: rack.lifecycle.publicKey,
    };
    return this.#d.issuer.reissue(subject, { serial, issuedAt, expiresAt }).envelope;
  }

  #reply(
    rack: RackRecord,
    status: HelloReply["status"],
    extra: Pick<HelloReply, "passport" | "error"> = {},
  ): HelloReply {
    return {
      v: 1,
      status,
      entity_id: rack.entityId.toString(),
      machine_id: rack.machineId,
      cluster_public_key: this.#d.clusterKey.publicKeyB64,
      cluster_key_id: this.#d.clusterKey.kid,
      heartbeat_interval_ms: this.#d.options.heartbeatIntervalMs,
      ...extra,
    };
  }

  /** A refusal, counted as `hello.refused.<counted>` (its code unless said otherwise; null: counted elsewhere). */
  #refuse(code: WireErrorCode, message: string, counted: string | null = code): HelloReply {
    if (counted !== null) this.#d.counters.inc(`hello.refused.${counted}`);
    return {
      v: 1,
      status: code === "rejected" ? "rejected" : code === "revoked" ? "revoked" : "refused",
      cluster_public_key: this.#d.clusterKey.publicKeyB64,
      cluster_key_id: this.#d.clusterKey.kid,
      heartbeat_interval_ms: this.#d.options.heartbeatIntervalMs,
      error: { code, message: message.slice(0, 500) },
    };
  }
}

/** Whether a reply goes to the inbox every bootstrap-credential holder may read. */
export function isBootstrapInbox(replySubject: string | undefined): boolean {
  return replySubject?.startsWith(`${INBOX_PREFIXES.bootstrap}.`) ?? false;
}

/**
 * What a reply on the bootstrap path may say (docs/bus-auth.md): its status, the Cluster key, the interval, the
 * credential the Rack reconnects with, and the error of a refusal. Never the entity id, the MachineID or the passport:
 * the Rack asks again as itself and gets those on its own inbox.
 *
 * @example
 * minimalReply(full); // { v: 1, status: "pending", cluster_public_key, cluster_key_id, heartbeat_interval_ms, bus_credential }
 */
export function minimalReply(reply: HelloReply): HelloReply {
  return {
    v: reply.v,
    status: reply.status,
    cluster_public_key: reply.cluster_public_key,
    cluster_key_id: reply.cluster_key_id,
    heartbeat_interval_ms: reply.heartbeat_interval_ms,
    ...(reply.bus_credential ? { bus_credential: reply.bus_credential } : {}),
    ...(reply.error ? { error: reply.error } : {}),
  };
}
