// A small line chart as inline SVG (no library, no style attribute): the path maths are pure and tested.

export interface Sample {
  /** ms since the epoch. */
  t: number;
  v: number;
}

export interface ChartBox {
  width: number;
  height: number;
  /** The time span shown, ending at `now`. */
  spanMs: number;
  now: number;
}

/** The largest value to scale to: the samples' maximum rounded up to a "nice" number (1, 2 or 5 x 10^n), at least 1. */
export function niceMax(values: readonly number[]): number {
  const max = Math.max(0, ...values.filter((v) => Number.isFinite(v)));
  if (max <= 1) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (max <= step * magnitude) return step * magnitude;
  return 10 * magnitude;
}

/**
 * The SVG path `d` of the samples within the box's span: x by time (older samples are cut), y by value over
 * `niceMax` (0 at the bottom). Empty string when no sample is in the span.
 *
 * @example
 * linePath([{ t: 0, v: 0 }, { t: 60_000, v: 1 }], { width: 120, height: 40, spanMs: 60_000, now: 60_000 }, 1);
 * // "M0,40L120,0"
 */
export function linePath(samples: readonly Sample[], box: ChartBox, max: number): string {
  const from = box.now - box.spanMs;
  const points = samples
    .filter((s) => s.t >= from && s.t <= box.now && Number.isFinite(s.v))
    .map((s) => {
      const x = ((s.t - from) / box.spanMs) * box.width;
      const y = box.height - (Math.min(Math.max(s.v, 0), max) / max) * box.height;
      return `${round(x)},${round(y)}`;
    });
  return points.length === 0 ? "" : `M${points.join("L")}`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Keeps the samples of the last `spanMs` (plus one older, so the line starts at the edge). */
export function trimSamples(samples: Sample[], spanMs: number, now: number): Sample[] {
  const from = now - spanMs;
  const firstIn = samples.findIndex((s) => s.t >= from);
  if (firstIn === -1) return samples.slice(-1);
  return samples.slice(Math.max(0, firstIn - 1));
}
