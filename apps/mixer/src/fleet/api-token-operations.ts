// Named API tokens as operators manage them: a fresh secret shown once, stored as its SHA-256 through the writer.
import type { ApiTokenCreated, ApiTokenRevoked, ApiTokenRole, ApiTokenView } from "@fluxrig/wire";
import { OperationError } from "../errors/wire-refusal.js";
import {
  type ApiTokenList,
  type ApiTokenRecord,
  apiTokenDigest,
  newApiTokenSecret,
} from "../registry/api-token-list.js";
import { ApiTokenExistsError, NotFoundError } from "../registry/registry-errors.js";
import type { RegistryWrites } from "../registry/registry-writer.js";
import { planCreateApiToken, planRevokeApiToken } from "../registry/write-plans.js";
import type { Clock } from "../runtime/counters.js";
import type { Actor, ApiTokenOperations } from "./operations.js";

/**
 * Actors the Mixer itself or the bootstrap token writes into the audit log: a named token may not take one, so an
 * audit event's actor always says who it was.
 */
export const RESERVED_TOKEN_NAMES: ReadonlySet<string> = new Set([
  "api",
  "admin",
  "mixer",
  "presence",
  "system",
]);

function view(record: ApiTokenRecord): ApiTokenView {
  return {
    name: record.name,
    role: record.role,
    created_at: record.createdAt.toISOString(),
    created_by: record.createdBy,
  };
}

export class ApiTokenOperationsService implements ApiTokenOperations {
  readonly #writer: RegistryWrites;
  readonly #tokens: ApiTokenList;
  readonly #clock: Clock;

  constructor(opts: { writer: RegistryWrites; tokens: ApiTokenList; clock: Clock }) {
    this.#writer = opts.writer;
    this.#tokens = opts.tokens;
    this.#clock = opts.clock;
  }

  async create(name: string, role: ApiTokenRole, by: Actor): Promise<ApiTokenCreated> {
    if (RESERVED_TOKEN_NAMES.has(name)) {
      throw new OperationError(
        "conflict",
        `${name} is reserved for the Mixer's own audit actors; pick another name`,
      );
    }
    const secret = newApiTokenSecret();
    const secretSha256 = apiTokenDigest(secret).toString("hex");
    const now = this.#clock();
    try {
      const record = await this.#writer.submit((stage) =>
        planCreateApiToken(stage, { name, role, secretSha256 }, { actor: by.actor, now }),
      );
      return { ...view(record), secret };
    } catch (error) {
      if (error instanceof ApiTokenExistsError) {
        throw new OperationError(
          "conflict",
          `an API token named ${name} exists; revoke it first to reuse the name`,
        );
      }
      throw error;
    }
  }

  async list(): Promise<ApiTokenView[]> {
    return [...this.#tokens.apiTokenRecords()].map(view);
  }

  async revoke(name: string, by: Actor): Promise<ApiTokenRevoked> {
    const now = this.#clock();
    try {
      const record = await this.#writer.submit((stage) =>
        planRevokeApiToken(stage, name, {
          actor: by.actor,
          now,
          ...(by.reason ? { reason: by.reason } : {}),
        }),
      );
      return { ...view(record), revoked_at: now.toISOString() };
    } catch (error) {
      if (error instanceof NotFoundError) throw new OperationError("not_found", `no API token named ${name}`);
      throw error;
    }
  }
}
