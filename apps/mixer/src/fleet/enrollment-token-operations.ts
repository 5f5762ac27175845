// Enrollment tokens as operators manage them (issue 16): a fresh secret shown once, stored as its SHA-256 through the
// writer; listed with their uses and state, revoked by id.
import type { EnrollmentTokenCreated, EnrollmentTokenRevoked, EnrollmentTokenView } from "@fluxrig/wire";
import { OperationError } from "../errors/wire-refusal.js";
import {
  type EnrollmentTokenList,
  type EnrollmentTokenRecord,
  enrollmentTokenDigest,
  enrollmentTokenState,
  newEnrollmentToken,
} from "../registry/enrollment-token-list.js";
import { NotFoundError } from "../registry/registry-errors.js";
import type { RegistryWrites } from "../registry/registry-writer.js";
import { planCreateEnrollmentToken, planRevokeEnrollmentToken } from "../registry/write-plans.js";
import type { Clock } from "../runtime/counters.js";
import type { Actor, EnrollmentTokenOperations } from "./operations.js";

function view(record: EnrollmentTokenRecord, now: Date): EnrollmentTokenView {
  return {
    id: record.id,
    pattern: record.pattern,
    uses: record.uses,
    used: record.used,
    expires_at: record.expiresAt.toISOString(),
    state: enrollmentTokenState(record, now),
    created_at: record.createdAt.toISOString(),
    created_by: record.createdBy,
  };
}

export class EnrollmentTokenOperationsService implements EnrollmentTokenOperations {
  readonly #writer: RegistryWrites;
  readonly #tokens: EnrollmentTokenList;
  readonly #clock: Clock;

  constructor(opts: { writer: RegistryWrites; tokens: EnrollmentTokenList; clock: Clock }) {
    this.#writer = opts.writer;
    this.#tokens = opts.tokens;
    this.#clock = opts.clock;
  }

  async create(
    input: { pattern: string; uses: number; expiresInSeconds: number },
    by: Actor,
  ): Promise<EnrollmentTokenCreated> {
    const now = this.#clock();
    const { id, secret } = newEnrollmentToken();
    const record = await this.#writer.submit((stage) =>
      planCreateEnrollmentToken(
        stage,
        {
          id,
          pattern: input.pattern,
          uses: input.uses,
          expiresAt: new Date(now.getTime() + input.expiresInSeconds * 1000),
          secretSha256: enrollmentTokenDigest(secret),
        },
        { actor: by.actor, now },
      ),
    );
    return { ...view(record, now), secret };
  }

  async list(): Promise<EnrollmentTokenView[]> {
    const now = this.#clock();
    return [...this.#tokens.enrollmentTokenRecords()].map((record) => view(record, now));
  }

  async revoke(id: string, by: Actor): Promise<EnrollmentTokenRevoked> {
    const now = this.#clock();
    try {
      const record = await this.#writer.submit((stage) =>
        planRevokeEnrollmentToken(stage, id, {
          actor: by.actor,
          now,
          ...(by.reason ? { reason: by.reason } : {}),
        }),
      );
      return { ...view(record, now), revoked_at: now.toISOString() };
    } catch (error) {
      if (error instanceof NotFoundError) throw new OperationError("not_found", `no enrollment token ${id}`);
      throw error;
    }
  }
}
