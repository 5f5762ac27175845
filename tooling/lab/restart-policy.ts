// When the lab restarts nats-server or the Mixer after it exits on its own, and when it gives up: a crash loop.

/** What to do after an exit: restart after `delayMs`, or stop the lab (`exits` within the window). */
export type RestartVerdict = { restart: true; delayMs: number } | { restart: false; exits: number };

export interface RestartPolicyOptions {
  /** Pause before a restart, so a process that dies at once does not spin. */
  delayMs: number;
  /** More exits than this within `windowMs` is a crash loop. */
  maxExits: number;
  windowMs: number;
}

/** The lab's defaults: a restart after 1 s; a sixth exit within a minute stops the lab. */
export const LAB_RESTART_POLICY: RestartPolicyOptions = { delayMs: 1_000, maxExits: 5, windowMs: 60_000 };

/**
 * Counts exits per process name over a sliding window.
 * @example
 * const policy = new RestartPolicy(LAB_RESTART_POLICY);
 * policy.onExit("mixer", Date.now()); // { restart: true, delayMs: 1000 }
 */
export class RestartPolicy {
  readonly #opts: RestartPolicyOptions;
  readonly #exits = new Map<string, number[]>();

  constructor(opts: RestartPolicyOptions) {
    this.#opts = opts;
  }

  /** Records an exit of `name` at `nowMs` and says whether to restart it. */
  onExit(name: string, nowMs: number): RestartVerdict {
    const recent = (this.#exits.get(name) ?? []).filter((at) => nowMs - at < this.#opts.windowMs);
    recent.push(nowMs);
    this.#exits.set(name, recent);
    return recent.length > this.#opts.maxExits
      ? { restart: false, exits: recent.length }
      : { restart: true, delayMs: this.#opts.delayMs };
  }
}
