// Expected keys as operators manage them (issue 16): `racks expect <name> --key <fingerprint>`, written through the
// writer with an audit event; every activation plan then refuses another key for that name.
import type { ExpectedKeyView } from "@fluxrig/wire";
import { OperationError } from "../errors/wire-refusal.js";
import type { ExpectedKeyList, ExpectedKeyRecord } from "../registry/expected-key-list.js";
import { NotFoundError } from "../registry/registry-errors.js";
import type { RegistryWrites } from "../registry/registry-writer.js";
import { planExpectKey, planForgetExpectedKey } from "../registry/write-plans.js";
import type { Clock } from "../runtime/counters.js";
import type { Actor, ExpectedKeyOperations } from "./operations.js";

function view(record: ExpectedKeyRecord): ExpectedKeyView {
  return {
    name: record.name,
    key_fingerprint: record.keyFingerprint,
    created_at: record.createdAt.toISOString(),
    created_by: record.createdBy,
  };
}

export class ExpectedKeyOperationsService implements ExpectedKeyOperations {
  readonly #writer: RegistryWrites;
  readonly #keys: ExpectedKeyList;
  readonly #clock: Clock;

  constructor(opts: { writer: RegistryWrites; keys: ExpectedKeyList; clock: Clock }) {
    this.#writer = opts.writer;
    this.#keys = opts.keys;
    this.#clock = opts.clock;
  }

  async list(): Promise<ExpectedKeyView[]> {
    return [...this.#keys.expectedKeyRecords()].map(view);
  }

  async expect(name: string, keyFingerprint: string, by: Actor): Promise<ExpectedKeyView> {
    const now = this.#clock();
    const options = { actor: by.actor, now, ...(by.reason ? { reason: by.reason } : {}) };
    return view(await this.#writer.submit((stage) => planExpectKey(stage, name, keyFingerprint, options)));
  }

  async forget(name: string, by: Actor): Promise<ExpectedKeyView> {
    const now = this.#clock();
    const options = { actor: by.actor, now, ...(by.reason ? { reason: by.reason } : {}) };
    try {
      return view(await this.#writer.submit((stage) => planForgetExpectedKey(stage, name, options)));
    } catch (error) {
      if (error instanceof NotFoundError)
        throw new OperationError("not_found", `no expected key for ${name}`);
      throw error;
    }
  }
}
