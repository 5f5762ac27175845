// What a failed JetStream KV request means for the write it carried: the one place the client's errors are read.
import { JetStreamApiError } from "@nats-io/jetstream";
import { errors } from "@nats-io/transport-node";

/**
 * - `cas`: the compare-and-set precondition failed (the key is not at the expected revision); nothing was written.
 * - `unavailable`: refused before anything was proposed (no stream leader listens: an election, no quorum; a 503;
 *   too few nodes to place a bucket's replicas).
 * - `ambiguous`: no answer (timeout, connection lost mid-request): the write may or may not have landed.
 * - `fatal`: retrying cannot help (permission, JetStream off for the account, a bad key, a closed connection).
 */
export type KvErrorKind = "cas" | "unavailable" | "ambiguous" | "fatal";

/** "JetStream not enabled for account" (an API error, or nats.js's JetStreamNotEnabled wrapping one). */
const NOT_ENABLED_FOR_ACCOUNT = 10039;

/** JetStream API codes: wrong last sequence (the CAS check), and "JetStream system temporarily unavailable". */
const WRONG_LAST_SEQUENCE = new Set([10071, 10164]);
const TEMPORARILY_UNAVAILABLE = 10008;
/** "no suitable peers for placement": fewer nodes up (or known yet) than the replicas asked for. */
const NO_SUITABLE_PEERS = 10005;

/**
 * Classifies an error thrown by `@nats-io/kv` / `@nats-io/jetstream`.
 *
 * @example
 * classifyKvError(new errors.TimeoutError()); // "ambiguous"
 */
export function classifyKvError(error: unknown): KvErrorKind {
  // A request the bus refused to carry (nats.js wraps the violation in a RequestError): never a matter of waiting.
  if (
    causes(error).some(
      (e) => e instanceof errors.PermissionViolationError || e instanceof errors.AuthorizationError,
    )
  ) {
    return "fatal";
  }
  if (error instanceof JetStreamApiError) {
    if (WRONG_LAST_SEQUENCE.has(error.code)) return "cas";
    if (error.status === 503 || error.code === TEMPORARILY_UNAVAILABLE || error.code === NO_SUITABLE_PEERS) {
      return "unavailable";
    }
    return "fatal";
  }
  // A publish nobody answered: the client wraps the "no responders" (no leader listens right now) in its
  // JetStreamNotEnabled, which the package does not export; the cause says which it was.
  if (error instanceof Error && error.name === "JetStreamNotEnabled" && isNoResponders(error.cause)) {
    return "unavailable";
  }
  if (error instanceof errors.NoRespondersError) return "unavailable";
  if (error instanceof errors.RequestError) return error.isNoResponders() ? "unavailable" : "ambiguous";
  if (error instanceof errors.TimeoutError) return "ambiguous";
  if (error instanceof errors.ClosedConnectionError || error instanceof errors.DrainingConnectionError) {
    return "fatal";
  }
  if (error instanceof errors.PermissionViolationError || error instanceof errors.AuthorizationError) {
    return "fatal";
  }
  if (error instanceof errors.ConnectionError) return "ambiguous";
  return "fatal";
}

/**
 * Classifies an error thrown while opening (or creating) a bucket. "JetStream not enabled for account" is retried
 * there: a node answers so for a while after an account JWT reaches it, until it has applied the account's
 * JetStream limits (a Mixer starting with a fresh cluster). Anywhere else it stays fatal.
 */
export function classifyKvOpenError(error: unknown): KvErrorKind {
  return isJetStreamOffForAccount(error) ? "unavailable" : classifyKvError(error);
}

/** The node said JetStream is not enabled for the connection's account. */
export function isJetStreamOffForAccount(error: unknown): boolean {
  return causes(error).some((e) => e instanceof JetStreamApiError && e.code === NOT_ENABLED_FOR_ACCOUNT);
}

function isNoResponders(cause: unknown): boolean {
  return (
    cause instanceof errors.NoRespondersError ||
    (cause instanceof errors.RequestError && cause.isNoResponders())
  );
}

/** The error and its causes, outermost first (bounded: a cycle cannot hang it). */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e !== undefined && chain.length < 8; e = e instanceof Error ? e.cause : undefined)
    chain.push(e);
  return chain;
}
