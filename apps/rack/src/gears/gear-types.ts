// The contract between the gear runtime and a gear type: what a gear gets (context) and what it offers.
import type { Logger } from "pino";

/** A JSON object message, the unit that travels on wires. */
export type GearMessage = Record<string, unknown>;

/** What the runtime gives one gear instance. Timers made here are cleared when the gear stops. */
export interface GearContext {
  /** The gear's name in the scenario. */
  readonly name: string;
  /** The gear's `config` from the scenario. */
  readonly config: Record<string, unknown>;
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

/** A gear type: validates its config (throwing GearConfigError) and creates instances. */
export interface GearType {
  readonly type: string;
  create(ctx: GearContext): Gear;
}

/** Gear types by name. */
export type GearTypeRegistry = Readonly<Record<string, GearType>>;
