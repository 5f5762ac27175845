// A Lease as a LeaderGate: the work done once runs while this Mixer holds the lease, and stops the moment it can no
// longer count on it (docs/cluster.md, "Work done once").
import type { Logger } from "pino";
import { LeaderFlag, type LeaderGate } from "../runtime/leader-gate.js";
import { Lease, type LeaseOptions } from "./lease.js";

export interface LeaseGateOptions extends Omit<LeaseOptions, "onAcquired" | "onRenewed" | "onLost"> {
  /** Told when this Mixer starts and stops leading. */
  logger?: Logger;
}

/**
 * Leads while the lease is held. `leading` turns false at once when the lease is lost: taken over (a renewal's
 * compare-and-set failed), refused, or simply past its validity because renewals did not get through; a timer armed
 * on {@link Lease.heldForMs} ends it at that instant rather than when the last renewal attempt gives up, so the
 * work has stopped before any contender may take over. It turns true when the lease is won, after the listeners have
 * heard it (they start their grace first).
 *
 * @example
 * const gate = new LeaseGate({ bucket: kv.leases, name: "leader", holder: config.cluster.member, ttlMs, logger });
 * gate.start();
 * startPresence({ ..., leader: gate });
 * await gate.stop(); // released: another Mixer takes over at once
 */
export class LeaseGate implements LeaderGate {
  readonly lease: Lease;
  readonly #flag: LeaderFlag;
  readonly #logger: Logger | undefined;
  #expiry: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(opts: LeaseGateOptions) {
    const { logger, ...leaseOptions } = opts;
    this.#logger = logger;
    this.#flag = new LeaderFlag(false, {
      onListenerError: (err) => logger?.error({ err }, "a listener of the leader gate failed"),
    });
    this.lease = new Lease({
      ...leaseOptions,
      onAcquired: () => this.#sync(),
      onRenewed: () => this.#sync(),
      onLost: (error) => {
        this.#logger?.warn({ lease: this.lease.name, reason: error.message }, "leader lease lost");
        this.#sync();
      },
    });
  }

  get leading(): boolean {
    return this.#flag.leading && this.lease.isHeld();
  }

  onChange(listener: (leading: boolean) => void): () => void {
    return this.#flag.onChange(listener);
  }

  /** Starts contending for the lease in the background. */
  start(): void {
    this.lease.start();
  }

  /** Stops leading at once, then releases the lease (best effort, bounded) so another Mixer takes over without the ttl. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#sync();
    await this.lease.stop();
    this.#sync();
  }

  /** Reads the lease's state now, tells listeners when it changed, and arms the timer for the end of its validity. */
  #sync(): void {
    clearTimeout(this.#expiry);
    this.#expiry = undefined;
    const held = !this.#stopped && this.lease.isHeld();
    if (held) {
      // +1: fire once the validity has passed, not a hair before it (timers may run early by a fraction of a ms).
      this.#expiry = setTimeout(() => this.#sync(), this.lease.heldForMs() + 1);
      this.#expiry.unref();
    }
    if (held === this.#flag.leading) return;
    this.#logger?.info(
      { lease: this.lease.name, holder: this.lease.holder },
      held
        ? "leading: this Mixer does the work done once"
        : "no longer leading: the work done once stops here",
    );
    this.#flag.set(held);
  }
}
