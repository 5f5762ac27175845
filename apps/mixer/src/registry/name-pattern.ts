// The one glob over Rack names: bulk adopt's `pattern` and an enrollment token's pattern mean the same thing.

/**
 * Whether `name` matches `pattern`, where `*` stands for any run of characters (also none) and `?` for exactly one.
 * Every other character stands for itself; the whole name must match.
 *
 * @example
 * nameMatchesPattern("edge-*", "edge-07"); // true
 * nameMatchesPattern("edge-??", "edge-107"); // false
 */
export function nameMatchesPattern(pattern: string, name: string): boolean {
  // Iterative glob match with one backtrack point: linear in practice, no regular expression built from input.
  let p = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    if (p < pattern.length && (pattern[p] === "?" || pattern[p] === name[n])) {
      p += 1;
      n += 1;
    } else if (p < pattern.length && pattern[p] === "*") {
      star = p;
      mark = n;
      p += 1;
    } else if (star !== -1) {
      p = star + 1;
      mark += 1;
      n = mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "*") p += 1;
  return p === pattern.length;
}
