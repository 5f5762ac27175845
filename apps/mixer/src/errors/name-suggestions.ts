// "Did you mean": the existing names closest to a ref that was not found, by edit distance, only when close.

/** How many suggestions a not-found message carries at most. */
export const MAX_SUGGESTIONS = 3;

/** The most edits a suggestion may be away: one per four characters typed, at least 1 and at most 2. */
function maxEditsFor(typed: string): number {
  return Math.min(2, Math.max(1, Math.floor(typed.length / 4)));
}

/**
 * Optimal string alignment distance (insertions, deletions, substitutions and swaps of two neighbours each count
 * one), or `limit + 1` as soon as it must exceed `limit`: a band of rows is kept, and a row whose cheapest cell is
 * over the limit ends the search, so a directory of 65,535 names costs a few milliseconds.
 */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = new Array<number>(b.length + 1).fill(0);
    row[0] = i;
    let cheapest = row[0];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, before[j - 2]! + 1);
      row[j] = d;
      cheapest = Math.min(cheapest, d);
    }
    if (cheapest > limit) return limit + 1;
    before = previous;
    previous = row;
  }
  return Math.min(previous[b.length]!, limit + 1);
}

/**
 * The names nearest to `typed` (all at the same, smallest distance, in name order), only a few edits away; an empty
 * list when nothing is close, or when more than {@link MAX_SUGGESTIONS} are equally near: in a numbered fleet
 * (`rack-nyc-01` ... `rack-nyc-99`) `rack-nyc-1` is one edit from a dozen names, and listing three of them is noise.
 *
 * @example
 * closestNames("rack-manaul", ["rack-manual", "rack-auto-1"]); // ["rack-manual"]
 */
export function closestNames(typed: string, names: Iterable<string>): string[] {
  const limit = maxEditsFor(typed);
  const close: Array<{ name: string; distance: number }> = [];
  for (const name of names) {
    if (name === typed) continue;
    const distance = editDistance(typed, name, limit);
    if (distance <= limit) close.push({ name, distance });
  }
  // Only the nearest: with `rack-manual` one edit away, `rack-mamual2` two away is noise.
  const nearest = close.reduce((min, c) => Math.min(min, c.distance), Number.POSITIVE_INFINITY);
  const tied = close.filter((c) => c.distance === nearest).map((c) => c.name);
  return tied.length > MAX_SUGGESTIONS ? [] : tied.sort();
}

/**
 * A not-found message with its suggestions, and the details to send with it (`suggestions`, when there are any).
 *
 * @example
 * notFoundWithSuggestions("no Rack rack-manaul", "rack-manaul", directoryNames);
 * // { message: "no Rack rack-manaul; did you mean rack-manual?", details: { suggestions: ["rack-manual"] } }
 */
export function notFoundWithSuggestions(
  message: string,
  typed: string,
  names: Iterable<string>,
): { message: string; details?: { suggestions: string[] } } {
  const suggestions = closestNames(typed, names);
  if (suggestions.length === 0) return { message };
  const list =
    suggestions.length === 1
      ? suggestions[0]
      : `${suggestions.slice(0, -1).join(", ")} or ${suggestions[suggestions.length - 1]}`;
  return { message: `${message}; did you mean ${list}?`, details: { suggestions } };
}
