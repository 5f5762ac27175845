// Argument parsers for commander: each checks one kind of value locally, so a typo never reaches the Mixer.
import { publicKeyFromBase64url } from "@fluxrig/passport";
import { RACK_NAME_PATTERN } from "@fluxrig/wire";
import { InvalidArgumentError } from "commander";
import { DurationSyntaxError, parseDuration } from "./durations.js";

// The shapes the REST API accepts in `{ref}` (docs/api.md, Limits): a name or decimal id, or 0x + 1..16 hex digits.
const REF_PATTERN = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?|0x[0-9a-fA-F]{1,16})$/;
const GLOB_PATTERN = /^[a-z0-9*?-]{1,63}$/;
const PREFIX_PATTERN = /^[a-z0-9-]{1,63}$/;
const MAX_TIMEOUT_MS = 10 * 60_000;

/** A parser that accepts what `pattern` matches and otherwise says what it expected. */
function matching(pattern: RegExp, expected: string): (value: string) => string {
  return (value) => {
    if (!pattern.test(value)) throw new InvalidArgumentError(`Expected ${expected}.`);
    return value;
  };
}

/**
 * A Rack ref: a name (`rack-nyc-01`), a decimal entity id or a `0x` hex one.
 *
 * @example
 * parseRef("0x0300640000000000"); // "0x0300640000000000"
 */
export const parseRef = matching(
  REF_PATTERN,
  "a Rack name (lowercase DNS label such as rack-nyc-01), a decimal entity id or a 0x-hex entity id",
);

/** A Rack name (a ref that must be a name, e.g. for `racks replace`). @example parseRackName("rack-nyc-01") */
export const parseRackName = matching(
  RACK_NAME_PATTERN,
  "a Rack name: a lowercase DNS label such as rack-nyc-01",
);

/** A scenario name (the same DNS label rule as Racks). @example parseScenarioName("edge-demo") */
export const parseScenarioName = matching(
  RACK_NAME_PATTERN,
  "a scenario name: a lowercase DNS label such as edge-demo",
);

/** A page size, 1..1000 as the API allows. @example parseLimit("50") // 50 */
export function parseLimit(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new InvalidArgumentError("Expected a whole number from 1 to 1000.");
  }
  return n;
}

/** A glob over Rack names: `[a-z0-9-]` with `*` and `?`. @example parsePattern("rack-nyc-*") */
export const parsePattern = matching(
  GLOB_PATTERN,
  "a glob over Rack names: a-z, 0-9, '-', with * and ? (quote it)",
);

/** The start of a Rack name. @example parsePrefix("rack-nyc-") */
export const parsePrefix = matching(PREFIX_PATTERN, "the start of a Rack name: a-z, 0-9 and '-'");

/** A raw Ed25519 public key, unpadded base64url (43 characters). @example parsePublicKey(rack.publicKey) */
export function parsePublicKey(value: string): string {
  try {
    publicKeyFromBase64url(value);
  } catch (err) {
    throw new InvalidArgumentError(
      `Expected a raw Ed25519 public key in unpadded base64url (43 characters): ${(err as Error).message}.`,
    );
  }
  return value;
}

/**
 * A request timeout in milliseconds: "10s", "500ms", "2m", or a bare number of seconds; at most 10 minutes.
 *
 * @example
 * parseTimeout("30"); // 30_000
 */
export function parseTimeout(value: string): number {
  let ms: number;
  try {
    ms = parseDuration(value, { defaultUnit: "s" });
  } catch (err) {
    if (err instanceof DurationSyntaxError) throw new InvalidArgumentError(`${capitalize(err.message)}.`);
    throw err;
  }
  if (ms < 1 || ms > MAX_TIMEOUT_MS) {
    throw new InvalidArgumentError("Expected a timeout from 1ms to 10m.");
  }
  return ms;
}

/** A key fingerprint as `racks show` prints it. @example parseFingerprint("SHA256:B2xG4DZYvfOJb/FdI9...") */
export const parseFingerprint = matching(
  /^SHA256:[A-Za-z0-9+/]{43}$/,
  "a key fingerprint as racks show prints it: SHA256: and 43 base64 characters",
);

/** How many Racks an enrollment token may adopt, 1..100000. @example parseUses("10") // 10 */
export function parseUses(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 100_000) {
    throw new InvalidArgumentError("Expected a whole number of uses from 1 to 100000.");
  }
  return n;
}

/**
 * An enrollment token's lifetime in whole seconds: "24h", "7d", "90m"; from a minute to a year, with a unit.
 *
 * @example
 * parseExpiry("24h"); // 86_400
 */
export function parseExpiry(value: string): number {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    if (err instanceof DurationSyntaxError) throw new InvalidArgumentError(`${capitalize(err.message)}.`);
    throw err;
  }
  if (ms < 60_000 || ms > 366 * 86_400_000) {
    throw new InvalidArgumentError("Expected an expiry from 1m to 366d, such as 24h or 7d.");
  }
  return Math.floor(ms / 1000);
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A reason for the audit log, at most 1024 characters as the API allows. @example parseReason("ticket OPS-42") */
export function parseReason(value: string): string {
  if (value.length === 0 || value.length > 1024) {
    throw new InvalidArgumentError("Expected 1 to 1024 characters.");
  }
  return value;
}

/** An audit event seq, as the API pages by it. @example parseSeq("17") // "17" */
export const parseSeq = matching(/^[0-9]{1,15}$/, "an event seq (a whole number)");
