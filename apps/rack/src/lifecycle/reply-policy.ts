// What a hello reply means for the Rack, decided purely from the reply and the pin; the agent carries it out.
import type { PassportEnvelope } from "@fluxrig/passport";
import { type HelloReply, WIRE_ERROR_CODES } from "@fluxrig/wire";

/** Which backoff paces the next hello after a reply. */
export type HelloPace = "enroll" | "pending" | "rejected" | "refused";

/** The decision for one reply. */
export type ReplyDecision =
  /** The reply names another cluster key than the pinned one: ignore everything else in it. */
  | { kind: "foreign_cluster"; offeredKey: string; offeredKeyId: string }
  | { kind: "pending"; reason: string }
  | { kind: "active"; passport: PassportEnvelope | undefined; reason: string }
  | { kind: "rejected"; reason: string }
  | { kind: "revoked"; reason: string }
  /** Another key holds this name: passive until an operator sorts it out. */
  | { kind: "name_taken"; reason: string }
  /** The Mixer refused the passport this Rack presented: drop it and enroll with the key alone. */
  | { kind: "passport_refused"; reason: string }
  /** Nothing changes; ask again later at `pace`. */
  | { kind: "retry"; pace: HelloPace; level: "warn" | "error"; code: string; reason: string };

function errorText(reply: HelloReply): string {
  return reply.error ? `${reply.error.code}: ${reply.error.message}` : "no reason given";
}

/**
 * Decides what a reply means. `pinnedKey` is the pinned cluster key (raw base64url) or null before the first
 * enrollment.
 *
 * @example
 * decideReply({ ...reply, status: "refused", error: { code: "name_taken", message } }, pin)
 * // { kind: "name_taken", reason: "hello refused: name_taken: ..." }
 */
export function decideReply(reply: HelloReply, pinnedKey: string | null): ReplyDecision {
  if (pinnedKey !== null && reply.cluster_public_key !== pinnedKey) {
    return {
      kind: "foreign_cluster",
      offeredKey: reply.cluster_public_key,
      offeredKeyId: reply.cluster_key_id,
    };
  }
  switch (reply.status) {
    case "pending":
      return { kind: "pending", reason: "the Mixer enrolled this Rack; awaiting adoption" };
    case "active":
      return { kind: "active", passport: reply.passport, reason: "the Mixer answered active" };
    case "rejected":
      return { kind: "rejected", reason: `an operator rejected this Rack (${errorText(reply)})` };
    case "revoked":
      return {
        kind: "revoked",
        reason: `the Mixer says this Rack's passport is revoked (${errorText(reply)})`,
      };
    case "refused":
      return decideRefusal(reply);
  }
}

function decideRefusal(reply: HelloReply): ReplyDecision {
  const code = reply.error?.code ?? WIRE_ERROR_CODES.internal;
  const reason = `hello refused: ${errorText(reply)}`;
  switch (code) {
    case WIRE_ERROR_CODES.passport_invalid:
      return { kind: "passport_refused", reason };
    case WIRE_ERROR_CODES.rejected:
      return { kind: "rejected", reason };
    case WIRE_ERROR_CODES.revoked:
      return { kind: "revoked", reason };
    case WIRE_ERROR_CODES.name_taken:
      return { kind: "name_taken", reason };
    // A reused nonce or a transient Mixer problem: a fresh hello soon is the fix.
    case WIRE_ERROR_CODES.replay:
    case WIRE_ERROR_CODES.unavailable:
    case WIRE_ERROR_CODES.internal:
      return { kind: "retry", pace: "enroll", level: "warn", code, reason };
    case WIRE_ERROR_CODES.stale:
      return {
        kind: "retry",
        pace: "refused",
        level: "error",
        code,
        reason: `${reason} (is this host's clock right? hellos must be within 2 minutes of the Mixer's time)`,
      };
    default:
      // name_reserved, registry_full, too_many_pending, rate_limited, bad_signature, schema...: an
      // operator must act.
      return { kind: "retry", pace: "refused", level: "error", code, reason };
  }
}
