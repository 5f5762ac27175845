// Following the API's keyset pages (`next` passed back as `after`) to the end, for --all.

/** One page of a listing: its items and the cursor of the next page, null on the last. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/**
 * Every item from `first` on, fetching `after = next` until a page says there is no more.
 *
 * @example
 * const all = await followPages(first, (after) => api.get<RackPage>("/api/v1/racks", { ...query, after }));
 */
export async function followPages<T>(
  first: Page<T>,
  fetchPage: (after: string) => Promise<Page<T>>,
): Promise<{ items: T[]; next: null }> {
  const items = [...first.items];
  let next = first.next;
  while (next !== null) {
    const page = await fetchPage(next);
    items.push(...page.items);
    // A cursor that does not move would loop for ever; stop rather than trust it.
    next = page.next === next ? null : page.next;
  }
  return { items, next: null };
}
