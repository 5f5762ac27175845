// The Rack's own bus credential (SPEC §11): a NATS user JWT the Mixer issued for this Rack's key, kept in
// <state_dir>/bus.jwt. The Rack reads only what it needs from it (expiry, grant); the server checks the signature.
import { readFile, rm } from "node:fs/promises";
import { writeFileAtomic } from "@fluxrig/passport";

/** What a user JWT allows, as the Rack compares it: the publish and subscribe allow lists. */
export interface JwtGrant {
  pub: readonly string[];
  sub: readonly string[];
}

/** The parts of a user JWT's claims the Rack uses. */
export interface JwtFacts {
  /** The user nkey the JWT is for. */
  subject: string;
  issuedAt: number;
  /** Unix seconds; undefined when the JWT never expires. */
  expiresAt: number | undefined;
  grant: JwtGrant;
}

/** A JWT whose claims cannot be read (not three parts, not JSON, no `sub`). */
export class BusJwtFormatError extends Error {
  override readonly name = "BusJwtFormatError";
}

/**
 * Reads a user JWT's claims without checking its signature (nats-server does that at connect).
 * @example decodeUserJwt(jwt).grant.pub // ["fluxrig.agent.hello", "fluxrig.event.heartbeat.rack-1"]
 */
export function decodeUserJwt(jwt: string): JwtFacts {
  const parts = jwt.split(".");
  if (parts.length !== 3) throw new BusJwtFormatError("not a compact JWT (three dot-separated parts)");
  let claims: {
    sub?: unknown;
    iat?: unknown;
    exp?: unknown;
    nats?: { pub?: { allow?: unknown }; sub?: { allow?: unknown } };
  };
  try {
    claims = JSON.parse(Buffer.from(parts[1] ?? "", "base64url").toString("utf8")) as typeof claims;
  } catch (cause) {
    throw new BusJwtFormatError("JWT claims are not JSON", { cause });
  }
  if (typeof claims !== "object" || claims === null || typeof claims.sub !== "string")
    throw new BusJwtFormatError("JWT claims name no subject");
  const list = (value: unknown): string[] =>
    Array.isArray(value) ? value.filter((s): s is string => typeof s === "string") : [];
  return {
    subject: claims.sub,
    issuedAt: typeof claims.iat === "number" ? claims.iat : 0,
    expiresAt: typeof claims.exp === "number" && claims.exp > 0 ? claims.exp : undefined,
    grant: { pub: list(claims.nats?.pub?.allow), sub: list(claims.nats?.sub?.allow) },
  };
}

/**
 * Whether two grants allow the same subjects (order and duplicates do not matter).
 * @example sameGrant({ pub: ["a", "b"], sub: [] }, { pub: ["b", "a"], sub: [] }) // true
 */
export function sameGrant(a: JwtGrant, b: JwtGrant): boolean {
  const same = (x: readonly string[], y: readonly string[]) => {
    const xs = new Set(x);
    const ys = new Set(y);
    return xs.size === ys.size && [...xs].every((s) => ys.has(s));
  };
  return same(a.pub, b.pub) && same(a.sub, b.sub);
}

/** How long before its expiry a stored JWT is no longer worth connecting with. */
export const JWT_EXPIRY_MARGIN_MS = 30_000;

/**
 * Whether a JWT can still be used to connect at `now`: readable, and not expiring within the margin.
 * @example usableJwt(stored, new Date()) // false for an expired or garbled JWT
 */
export function usableJwt(jwt: string, now: Date, marginMs = JWT_EXPIRY_MARGIN_MS): boolean {
  try {
    const { expiresAt } = decodeUserJwt(jwt);
    return expiresAt === undefined || expiresAt * 1000 - marginMs > now.getTime();
  } catch {
    return false;
  }
}

/**
 * When an expiring JWT with no renewal in sight deserves a warning: at 90 % of its life. Undefined when it never
 * expires.
 */
export function jwtWarnAt(jwt: string): number | undefined {
  const { issuedAt, expiresAt } = decodeUserJwt(jwt);
  if (expiresAt === undefined) return undefined;
  return (issuedAt + (expiresAt - issuedAt) * 0.9) * 1000;
}

/** The stored JWT, or undefined when there is none (a missing file; a garbled one is also ignored, with `why`). */
export async function readBusJwt(path: string): Promise<{ jwt: string } | { jwt: undefined; why: string }> {
  let text: string;
  try {
    text = (await readFile(path, "utf8")).trim();
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return { jwt: undefined, why: "no bus.jwt" };
    throw cause;
  }
  try {
    decodeUserJwt(text);
    return { jwt: text };
  } catch (error) {
    return { jwt: undefined, why: `bus.jwt unreadable (${(error as Error).message})` };
  }
}

/** Stores the JWT as bus.jwt (atomic, 0600). */
export async function writeBusJwt(path: string, jwt: string): Promise<void> {
  await writeFileAtomic({ path, data: `${jwt}\n`, mode: 0o600 });
}

/** Removes bus.jwt (no error when it is already gone). */
export async function removeBusJwt(path: string): Promise<void> {
  await rm(path, { force: true });
}
