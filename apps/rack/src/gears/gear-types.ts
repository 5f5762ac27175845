// The contract between the gear runtime and a gear type: what a gear gets (context) and what it offers.
import type { Logger } from "pino";
import type { z } from "zod";

/** A JSON object message, the unit that travels on wires. */
export type GearMessage = Record<string, unknown>;

/** What the runtime gives one gear instance. Timers made here are cleared when the gear stops. */
export interface GearContext<C = Record<string, unknown>> {
  /** The gear's name in the scenario. */
  readonly name: string;
  /** The gear's `config` from the scenario, as its type's schema read it (defaults applied). */
  readonly config: C;
  readonly log: Logger;
  /** Sends a message out of one of the gear's ports (onto the wires leaving `<gear>.<port>`). */
  emit(port: string, message: GearMessage): void;
  /** A repeating timer owned by the gear; a throw inside it fails the gear like a throw in `receive`. */
  every(ms: number, fn: () => void | Promise<void>): void;
}

/** A running gear. Both hooks are optional: a source has no `receive`, a stateless sink no `stop`. */
export interface Gear {
  /** Handles a message that arrived on input `port`; a throw (or rejection) fails the gear. */
  receive?(port: string, message: GearMessage): void | Promise<void>;
  /** Releases what the gear holds; its timers are cleared by the runtime anyway. */
  stop?(): void | Promise<void>;
}

/**
 * A gear type: the schema of its config and how to create instances. The runtime reads the config through the
 * schema before `create` (an invalid one fails the gear for good, GearConfigError); the built-ins use the schemas of
 * `@fluxrig/wire`, the same ones the Mixer checks at import.
 */
export interface GearType<C = Record<string, unknown>> {
  readonly type: string;
  readonly config: z.ZodType<C>;
  create(ctx: GearContext<C>): Gear;
}

/** Gear types by name. */
export type GearTypeRegistry = Readonly<Record<string, GearType<unknown>>>;
