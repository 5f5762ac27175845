// Drizzle wraps whatever our query callback threw in DrizzleQueryError; callers want the store's typed error back.
import { DrizzleQueryError } from "drizzle-orm";
import { MixerError } from "../runtime/errors.js";
import { QueryFailedError } from "./database-errors.js";

/**
 * The store error inside a DrizzleQueryError (DatabaseClosedError, QueryFailedError, ...), a QueryFailedError for
 * anything else drizzle wrapped, and any other error unchanged.
 *
 * @example
 * try { await db.orm.select().from(registry); } catch (error) { throw unwrapDrizzleError(error); }
 */
export function unwrapDrizzleError(error: unknown): unknown {
  if (!(error instanceof DrizzleQueryError)) return error;
  const cause: unknown = error.cause;
  if (cause instanceof MixerError) return cause;
  return new QueryFailedError(error.query, { cause: cause ?? error });
}

/**
 * Awaits a drizzle query, rethrowing failures as the store's typed errors (see {@link unwrapDrizzleError}).
 *
 * @example
 * const rows = await ormQuery(db.orm.select().from(scenarios));
 */
export async function ormQuery<T>(query: PromiseLike<T>): Promise<T> {
  try {
    return await query;
  } catch (error) {
    throw unwrapDrizzleError(error);
  }
}
