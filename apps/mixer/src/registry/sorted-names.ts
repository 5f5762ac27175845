// Rack names kept sorted as the registry orders them, so a page of the list costs a binary search, not a sort.
//
// Names are lowercase DNS labels ([a-z0-9-]), so JavaScript's UTF-16 comparison is DuckDB's byte order.

/** A sorted set of strings: binary search to find, one memmove (Array.splice) to insert or delete. */
export class SortedNames {
  readonly #names: string[] = [];

  get size(): number {
    return this.#names.length;
  }

  /** The name at position `index` in order, or undefined past the end. */
  at(index: number): string | undefined {
    return this.#names[index];
  }

  has(name: string): boolean {
    const i = this.lowerBound(name);
    return this.#names[i] === name;
  }

  /** Adds `name` in its place; a name already present is left alone. */
  add(name: string): void {
    const i = this.lowerBound(name);
    if (this.#names[i] !== name) this.#names.splice(i, 0, name);
  }

  /** Removes `name`; returns whether it was there. */
  delete(name: string): boolean {
    const i = this.lowerBound(name);
    if (this.#names[i] !== name) return false;
    this.#names.splice(i, 1);
    return true;
  }

  /** The position of the first name >= `value` (the size when there is none). */
  lowerBound(value: string): number {
    return this.#search(value, false);
  }

  /** The position of the first name > `value` (the size when there is none). */
  upperBound(value: string): number {
    return this.#search(value, true);
  }

  /** Binary search for the first name above `value`, or at or above it when `pastEqual` is false. */
  #search(value: string, pastEqual: boolean): number {
    let lo = 0;
    let hi = this.#names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const name = this.#names[mid]!;
      if (name < value || (pastEqual && name === value)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Where a keyset scan starts: the first name after `after` (exclusive) that could start with `prefix`. Names
   * with a prefix are contiguous in this order, so the scan stops at the first name that no longer has it.
   */
  scanStart(opts: { after?: string | undefined; prefix?: string | undefined }): number {
    let start = opts.after === undefined ? 0 : this.upperBound(opts.after);
    if (opts.prefix) start = Math.max(start, this.lowerBound(opts.prefix));
    return start;
  }

  /** Every name in order (a copy). */
  toArray(): string[] {
    return [...this.#names];
  }
}
