// Argument checks a plan makes before it stages anything, so bad input never reaches a transaction.
import { InvalidInputError } from "./registry-errors.js";

/** SPEC §4: a lowercase DNS label, so a name is always one safe NATS subject token. */
export const NODE_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function assertNodeName(name: string, field = "name"): void {
  if (typeof name !== "string" || !NODE_NAME_PATTERN.test(name)) {
    throw new InvalidInputError(
      field,
      `must be a lowercase DNS label like rack-nyc-01, got ${JSON.stringify(name)}`,
    );
  }
}

export function assertNonEmpty(value: string, field: string): void {
  if (typeof value !== "string" || value === "") throw new InvalidInputError(field, "must not be empty");
}

export function assertValidDate(value: Date, field: string): void {
  if (!(value instanceof Date) || !Number.isFinite(value.getTime())) {
    throw new InvalidInputError(field, "must be a valid Date");
  }
}
