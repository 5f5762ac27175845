// The virtual list's window maths: which rows exist for a scroll position.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { rowWindow } from "./virtual-list.js";

describe("rowWindow", () => {
  test("the example of the doc comment", () => {
    expect(rowWindow({ scrollTop: 4400, viewport: 440, rowHeight: 44, count: 10000, overscan: 5 })).toEqual({
      start: 95,
      end: 116,
      offset: 4180,
      total: 440000,
    });
  });

  test("at the top: no negative start", () => {
    expect(rowWindow({ scrollTop: 0, viewport: 480, rowHeight: 48, count: 10000, overscan: 8 })).toEqual({
      start: 0,
      end: 19,
      offset: 0,
      total: 480000,
    });
  });

  test("at the bottom (and past it, as elastic scrolling reports): the last row is drawn, nothing beyond", () => {
    const w = rowWindow({ scrollTop: 10_000_000, viewport: 480, rowHeight: 48, count: 10000, overscan: 8 });
    expect(w.end).toBe(10000);
    expect(w.start).toBe(10000 - 10 - 8);
  });

  test("an empty list and a list shorter than the viewport", () => {
    expect(rowWindow({ scrollTop: 0, viewport: 480, rowHeight: 48, count: 0, overscan: 8 })).toEqual({
      start: 0,
      end: 0,
      offset: 0,
      total: 0,
    });
    expect(rowWindow({ scrollTop: 300, viewport: 480, rowHeight: 48, count: 3, overscan: 8 })).toMatchObject({
      start: 0,
      end: 3,
    });
  });

  test("for any position, the rows in view are drawn, and at most the visible rows plus both margins", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20000 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: -1000, max: 2_000_000 }),
        (count, viewport, rowHeight, overscan, scrollTop) => {
          const w = rowWindow({ scrollTop, viewport, rowHeight, count, overscan });
          expect(w.start).toBeGreaterThanOrEqual(0);
          expect(w.end).toBeLessThanOrEqual(count);
          expect(w.start).toBeLessThanOrEqual(w.end);
          expect(w.offset).toBe(w.start * rowHeight);
          expect(w.end - w.start).toBeLessThanOrEqual(Math.ceil(viewport / rowHeight) + 1 + 2 * overscan);
          // Every row intersecting the viewport (clamped to the list) is inside the window.
          const top = Math.min(Math.max(0, scrollTop), Math.max(0, count * rowHeight - viewport));
          const firstVisible = Math.floor(top / rowHeight);
          const lastVisible = Math.min(count, Math.ceil((top + viewport) / rowHeight)) - 1;
          if (count > 0) {
            expect(w.start).toBeLessThanOrEqual(firstVisible);
            expect(w.end).toBeGreaterThan(lastVisible);
          }
        },
      ),
    );
  });
});
