// A virtual list: only the rows in view (plus a margin) exist in the DOM, so 10,000 Racks cost as much as 30.

export interface WindowInput {
  /** The scroller's scrollTop, px. */
  scrollTop: number;
  /** The scroller's visible height, px. */
  viewport: number;
  /** Every row's height, px (fixed). */
  rowHeight: number;
  count: number;
  /** Rows drawn beyond each edge, so fast scrolling shows no gap. */
  overscan: number;
}

export interface RowWindow {
  /** First row drawn (inclusive). */
  start: number;
  /** Last row drawn (exclusive). */
  end: number;
  /** Where the first drawn row sits, px from the top of the list. */
  offset: number;
  /** The height of the whole list, px. */
  total: number;
}

/**
 * The rows to draw for a scroll position: clamped to the list, never negative, `end - start` at most the rows that
 * fit plus twice the overscan.
 *
 * @example
 * rowWindow({ scrollTop: 4400, viewport: 440, rowHeight: 44, count: 10000, overscan: 5 });
 * // { start: 95, end: 116, offset: 4180, total: 440000 }
 */
export function rowWindow(input: WindowInput): RowWindow {
  const { rowHeight, count, overscan } = input;
  const total = count * rowHeight;
  if (count === 0 || rowHeight <= 0) return { start: 0, end: 0, offset: 0, total: Math.max(0, total) };
  const maxTop = Math.max(0, total - input.viewport);
  const top = Math.min(Math.max(0, input.scrollTop), maxTop);
  const first = Math.floor(top / rowHeight);
  const visible = Math.ceil(Math.max(0, input.viewport) / rowHeight) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, first + visible + overscan);
  return { start, end, offset: start * rowHeight, total };
}

/**
 * A scroller of fixed-height rows over `count` items, drawing rows with `render(index)` as the window moves.
 * `refresh()` redraws the window (after the items changed).
 */
export class VirtualList {
  readonly element: HTMLDivElement;
  readonly #spacer: HTMLDivElement;
  readonly #list: HTMLUListElement;
  #count = 0;
  #drawn = "";

  constructor(
    private readonly rowHeight: number,
    private readonly render: (index: number) => HTMLLIElement,
    label: string,
  ) {
    this.element = document.createElement("div");
    this.element.className = "vlist";
    // A scrolling region must be reachable by keyboard.
    this.element.tabIndex = 0;
    this.element.setAttribute("role", "region");
    this.element.setAttribute("aria-label", label);
    this.#spacer = document.createElement("div");
    this.#spacer.className = "vlist-spacer";
    this.#list = document.createElement("ul");
    this.#list.className = "vlist-rows rows";
    this.#spacer.append(this.#list);
    this.element.append(this.#spacer);
    this.element.addEventListener("scroll", () => this.#draw(false), { passive: true });
    window.addEventListener("resize", this.#onResize);
  }

  readonly #onResize = () => this.#draw(false);

  /** Stops following the window's size (the page is left). */
  destroy(): void {
    window.removeEventListener("resize", this.#onResize);
  }

  setCount(count: number): void {
    this.#count = count;
    this.#draw(true);
  }

  refresh(): void {
    this.#draw(true);
  }

  #draw(force: boolean): void {
    const w = rowWindow({
      scrollTop: this.element.scrollTop,
      viewport: this.element.clientHeight || 600,
      rowHeight: this.rowHeight,
      count: this.#count,
      overscan: 8,
    });
    const key = `${w.start}:${w.end}:${w.total}`;
    if (!force && key === this.#drawn) return;
    this.#drawn = key;
    this.#spacer.style.height = `${w.total}px`;
    this.#list.style.transform = `translateY(${w.offset}px)`;
    const rows: HTMLLIElement[] = [];
    for (let i = w.start; i < w.end; i += 1) rows.push(this.render(i));
    this.#list.replaceChildren(...rows);
  }
}
