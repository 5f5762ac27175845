// Remembers passports whose signature already held, so a signer that sees the same passport again skips Ed25519.
import { createHash } from "node:crypto";
import type { PassportEnvelope } from "./envelope.js";

/**
 * The exact (payload, signature) pairs already known to verify under ONE cluster key: passports that key's holder
 * signed itself, or checked once. A Mixer sees each Rack's passport again at every hello; the Ed25519 check costs
 * about 100 us, a lookup about 2 us. Only a byte-identical envelope is vouched for (the payload is compared by its
 * SHA-256), so an edited payload, another signature or another key id is always verified in full. Bounded: the
 * oldest entries go first.
 *
 * @example
 * const memo = new SignatureMemo(clusterKid);
 * memo.remember(signPassport({ payload, clusterPrivateKey, kid: clusterKid }));
 * verifyPassportSignature(presented, { clusterPublicKey, knownSignatures: memo });
 */
export class SignatureMemo {
  readonly #kid: string;
  readonly #max: number;
  /** signature (base64url) -> SHA-256 of the payload text (base64). */
  readonly #entries = new Map<string, string>();

  constructor(kid: string, opts: { maxEntries?: number } = {}) {
    this.#kid = kid;
    this.#max = Math.max(1, opts.maxEntries ?? 131_072);
  }

  /** The key id this memo speaks for. */
  get kid(): string {
    return this.#kid;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** True when exactly this envelope (same kid, payload and signature) was remembered. */
  vouches(env: PassportEnvelope): boolean {
    if (env.kid !== this.#kid || typeof env.sig !== "string" || typeof env.payload !== "string") return false;
    const digest = this.#entries.get(env.sig);
    return digest !== undefined && digest === payloadDigest(env.payload);
  }

  /** Records an envelope whose signature is known to hold under this memo's key. Other key ids are ignored. */
  remember(env: PassportEnvelope): void {
    if (env.kid !== this.#kid) return;
    this.#entries.delete(env.sig);
    this.#entries.set(env.sig, payloadDigest(env.payload));
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  /** Forgets an envelope, e.g. one superseded by a revocation. */
  forget(env: Pick<PassportEnvelope, "sig">): void {
    this.#entries.delete(env.sig);
  }
}

function payloadDigest(payload: string): string {
  return createHash("sha256").update(payload).digest("base64");
}
