// The evidence beside a pending Rack that the API gives in separate lists: whether an expected key or an enrollment
// token speaks for it. Pure functions over the API's bodies.

/** An enrollment token as `GET /api/v1/enrollment-tokens` lists it. */
export interface EnrollmentTokenInfo {
  id: string;
  pattern: string;
  uses: number;
  used: number;
  expires_at: string;
  state: "usable" | "used_up" | "expired";
}

/** An expected key as `GET /api/v1/expected-keys` lists it. */
export interface ExpectedKeyInfo {
  name: string;
  key_fingerprint: string;
}

/**
 * Whether a name matches an enrollment token's pattern: `*` any run of characters (also none), `?` exactly one,
 * every other character itself (the Mixer's own glob over `[a-z0-9-]`).
 *
 * @example
 * globMatch("edge-*", "edge-07"); // true
 * globMatch("rack-??", "rack-1"); // false
 */
export function globMatch(pattern: string, name: string): boolean {
  // Iterative matcher with one backtrack point: linear-ish, no regex built from input.
  let p = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    const c = pattern[p];
    if (c === "?" || (c !== undefined && c !== "*" && c === name[n])) {
      p += 1;
      n += 1;
    } else if (c === "*") {
      star = p;
      mark = n;
      p += 1;
    } else if (star !== -1) {
      p = star + 1;
      mark += 1;
      n = mark;
    } else return false;
  }
  while (pattern[p] === "*") p += 1;
  return p === pattern.length;
}

export type KeyVerdict =
  | { kind: "none" }
  | { kind: "matches"; fingerprint: string }
  | { kind: "differs"; expected: string };

/** What the name's expected key says about this Rack's key. */
export function expectedKeyVerdict(
  rack: { name: string; key_fingerprint: string },
  expected: readonly ExpectedKeyInfo[],
): KeyVerdict {
  const entry = expected.find((e) => e.name === rack.name);
  if (entry === undefined) return { kind: "none" };
  if (entry.key_fingerprint === rack.key_fingerprint)
    return { kind: "matches", fingerprint: entry.key_fingerprint };
  return { kind: "differs", expected: entry.key_fingerprint };
}

/** The enrollment tokens whose pattern admits this name, usable ones first. */
export function matchingEnrollmentTokens(
  name: string,
  tokens: readonly EnrollmentTokenInfo[],
): EnrollmentTokenInfo[] {
  const order = { usable: 0, used_up: 1, expired: 2 } as const;
  return tokens.filter((t) => globMatch(t.pattern, name)).sort((a, b) => order[a.state] - order[b.state]);
}

/** One line for a token: `3f9c0e1d2a4b (edge-*): usable, 3 of 10 used`. */
export function describeEnrollmentToken(t: EnrollmentTokenInfo): string {
  const state = t.state === "used_up" ? "used up" : t.state;
  return `${t.id} (${t.pattern}): ${state}, ${t.used} of ${t.uses} used`;
}
