// What every page gets: the API, who is signed in, the one event stream of this page load, and where results go.
import { type Api, hasRole, type Role } from "./api.js";
import { h, replace } from "./dom.js";
import type { AuditEvent } from "./sse.js";

export interface Session {
  name: string;
  role: Role;
}

/** The one audit stream of a signed-in page: pages subscribe while they are shown. */
export class EventHub {
  readonly #listeners = new Set<(event: AuditEvent) => void>();
  #cursor: number | undefined;
  #waiting: Array<(seq: number) => void> = [];

  subscribe(listener: (event: AuditEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: AuditEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        console.error("console: a page failed on an event", err);
      }
    }
  }

  /** The newest event's seq when the stream opened. */
  setCursor(seq: number): void {
    if (this.#cursor !== undefined) return;
    this.#cursor = seq;
    for (const resolve of this.#waiting) resolve(seq);
    this.#waiting = [];
  }

  cursor(): Promise<number> {
    if (this.#cursor !== undefined) return Promise.resolve(this.#cursor);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}

/** Where the result of an action is shown: `role="status"` for success, `role="alert"` for a refusal. */
export class Messages {
  readonly element = h("div", { class: "messages" });

  success(text: string): void {
    replace(this.element, h("p", { role: "status", class: "msg msg-ok" }, text));
  }

  failure(text: string): void {
    replace(this.element, h("p", { role: "alert", class: "msg msg-error" }, text));
  }

  clear(): void {
    replace(this.element);
  }
}

export interface Ctx {
  api: Api;
  session: Session;
  hub: EventHub;
  messages: Messages;
  /** Asks the header to re-read the counts (the Pending link's number). */
  refreshCounts(): void;
  can(role: Role): boolean;
}

export function makeCan(session: Session): (role: Role) => boolean {
  return (role) => hasRole(session.role, role);
}

/** A page: draws into `main`, returns what to undo when the reader leaves it. */
export type Page = (ctx: Ctx, main: HTMLElement, param: string) => (() => void) | undefined;
