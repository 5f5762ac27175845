// Signed control messages (SPEC §11): hello replies and pushes count only when the Cluster Key signed their exact
// bytes. Everything else is dropped, counted, and logged at most once per interval per kind.
import type { KeyObject } from "node:crypto";
import { ControlSignatureError, verifyControlMessage } from "@fluxrig/passport";
import type { Logger } from "pino";

/** The kinds of control message a Rack receives. */
export type ControlKind = "hello reply" | "passport push" | "scenario push" | "rack state";

/** How often a refusal of one kind is logged at warn (the rest are debug; the counter counts them all). */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

/**
 * Checks control messages against the pinned Cluster Key.
 * @example if (!gate.accept("scenario push", pin.publicKey, msg.data, msg.headers?.get(CONTROL_SIGNATURE_HEADER))) return;
 */
export class ControlGate {
  /** Control messages dropped because their signature was missing or wrong, by kind. */
  readonly refused: Record<ControlKind, number> = {
    "hello reply": 0,
    "passport push": 0,
    "scenario push": 0,
    "rack state": 0,
  };
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #lastWarn = new Map<ControlKind, number>();

  constructor(opts: { logger: Logger; now: () => number }) {
    this.#log = opts.logger;
    this.#now = opts.now;
  }

  /** The total of {@link refused}. */
  get refusedTotal(): number {
    return Object.values(this.refused).reduce((a, b) => a + b, 0);
  }

  /**
   * True when `header` is the Cluster Key's signature over `bytes`. `key` is the pinned key; undefined when none is
   * pinned yet (then nothing can be accepted).
   */
  accept(
    kind: ControlKind,
    key: KeyObject | string | undefined,
    bytes: Uint8Array,
    header: string | undefined | null,
  ): boolean {
    let reason: string;
    let message: string;
    if (key === undefined) {
      reason = "no_pin";
      message = "no Cluster Key pinned yet to check it against";
    } else {
      try {
        verifyControlMessage({ publicKey: key, bytes, header });
        return true;
      } catch (error) {
        if (!(error instanceof ControlSignatureError)) throw error;
        reason = error.reason;
        message = error.message;
      }
    }
    const count = ++this.refused[kind];
    const now = this.#now();
    const last = this.#lastWarn.get(kind);
    const loud = last === undefined || now - last >= REFUSAL_LOG_INTERVAL_MS;
    if (loud) this.#lastWarn.set(kind, now);
    this.#log[loud ? "warn" : "debug"](
      { kind, reason, detail: message, refused: count },
      `${kind}: dropped (not signed by the pinned Cluster Key)`,
    );
    return false;
  }
}
