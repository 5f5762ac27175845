// Signs passports with the Cluster Key and decides when one presented by a Rack must be renewed.
import { EntityType, formatEntityId } from "@fluxrig/entity-id";
import {
  DEFAULT_SKEW_MS,
  type PassportEnvelope,
  PassportError,
  type PassportPayload,
  renewalDueAt,
  SignatureMemo,
  signPassport,
  verifyPassportSignature,
} from "@fluxrig/passport";
import type { ClusterKey } from "../runtime/cluster-key.js";

export interface PassportSubject {
  entityId: bigint;
  machineId: number;
  name: string;
  publicKey: string;
}

export type PresentedPassport =
  | { valid: true; payload: PassportPayload; expired: boolean; needsRenewal: boolean }
  | { valid: false; reason: string; code: string };

export class PassportIssuer {
  readonly #key: ClusterKey;
  readonly #cluster: string;
  readonly #ttlMs: number;
  readonly #skewMs: number;
  /**
   * Passports this Mixer signed or has checked: a Rack presents its passport at every hello, and a byte-identical
   * one needs no new Ed25519 check (about 100 us each; the figure that bounds session recovery and the herd).
   */
  readonly #known: SignatureMemo;

  constructor(opts: { clusterKey: ClusterKey; cluster: string; ttlMs: number; skewMs: number }) {
    this.#key = opts.clusterKey;
    this.#cluster = opts.cluster;
    this.#ttlMs = opts.ttlMs;
    this.#skewMs = opts.skewMs;
    this.#known = new SignatureMemo(opts.clusterKey.kid);
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** Signs an active passport for `rack` with the given serial. */
  sign(
    rack: PassportSubject,
    opts: { serial: number; now: Date; status?: "active" | "revoked" },
  ): {
    envelope: PassportEnvelope;
    payload: PassportPayload;
  } {
    const nowS = Math.floor(opts.now.getTime() / 1000) * 1000;
    // A Rack accepts a passport up to DEFAULT_SKEW_MS (120 s) before its issue time. A Mixer whose hello window
    // ([enrollment] clock_skew) is wider dates the passport back by the difference, so a Rack it admitted with a
    // clock behind is not handed a passport from its own future; the expiry stays now + ttl.
    const backdateMs = Math.max(0, this.#skewMs - DEFAULT_SKEW_MS);
    return this.#signPayload(rack, {
      serial: opts.serial,
      status: opts.status ?? "active",
      issuedAt: new Date(nowS - backdateMs),
      expiresAt: new Date(nowS + this.#ttlMs),
    });
  }

  /**
   * The passport already issued to `rack` (serial, issue and expiry as recorded), signed again: Ed25519 signatures
   * are deterministic, so these are the very bytes first issued (with this Mixer's cluster name and key). For a Rack
   * that proved its key but holds no passport, e.g. one that could not yet verify the passport pushed to it: it gets
   * the passport the registry and the audit log already name, not a second serial.
   */
  reissue(
    rack: PassportSubject,
    issued: { serial: number; issuedAt: Date; expiresAt: Date },
  ): { envelope: PassportEnvelope; payload: PassportPayload } {
    return this.#signPayload(rack, { ...issued, status: "active" });
  }

  #signPayload(
    rack: PassportSubject,
    p: { serial: number; status: "active" | "revoked"; issuedAt: Date; expiresAt: Date },
  ): { envelope: PassportEnvelope; payload: PassportPayload } {
    const { issuedAt } = p;
    const payload: PassportPayload = {
      cluster: this.#cluster,
      entity_id: formatEntityId(rack.entityId),
      type_id: EntityType.Rack,
      machine_id: rack.machineId,
      name: rack.name,
      status: p.status,
      rack_public_key: rack.publicKey,
      issued_at: issuedAt.toISOString(),
      expires_at: p.expiresAt.toISOString(),
      serial: p.serial,
    };
    const envelope = signPassport({ payload, clusterPrivateKey: this.#key.privateKey, kid: this.#key.kid });
    this.#known.remember(envelope);
    return { envelope, payload };
  }

  /**
   * Checks a passport a Rack presents in its hello: signed by our key, for this key and name, for this entity.
   * Expiry is reported rather than refused: a known key that proved itself gets a renewal, not a stranding.
   */
  checkPresented(
    env: PassportEnvelope,
    rack: PassportSubject & { serial: number | null },
    now: Date,
  ): PresentedPassport {
    try {
      const { payload, expired } = verifyPassportSignature(env, {
        clusterPublicKey: this.#key.publicKey,
        rackPublicKey: rack.publicKey,
        name: rack.name,
        now,
        skewMs: this.#skewMs,
        knownSignatures: this.#known,
      });
      if (payload.entity_id !== formatEntityId(rack.entityId) || payload.cluster !== this.#cluster) {
        return { valid: false, code: "passport_foreign", reason: "passport names another entity or cluster" };
      }
      if (payload.status !== "active")
        return { valid: false, code: "passport_revoked", reason: "passport is revoked" };
      if (rack.serial !== null && payload.serial < rack.serial) {
        // An older passport than the last one issued: superseded (e.g. by a revocation and re-adoption).
        return {
          valid: false,
          code: "passport_superseded",
          reason: `serial ${payload.serial} < ${rack.serial}`,
        };
      }
      return {
        valid: true,
        payload,
        expired,
        needsRenewal: expired || now.getTime() >= renewalDueAt(payload),
      };
    } catch (err) {
      if (err instanceof PassportError) return { valid: false, code: err.code, reason: err.message };
      return { valid: false, code: "passport_malformed", reason: (err as Error).message };
    }
  }
}

export { PassportError };
