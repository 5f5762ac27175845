// Accepts one OTLP/HTTP JSON metrics export into the store; answers every kind of junk with a reason, never throws.
import { jsonNestsDeeperThan } from "@fluxrig/wire/internal";
import { OtlpExportMetricsRequestSchema } from "./otlp-json-schema.js";
import { countDataPoints, summariseResource } from "./otlp-metrics-summary.js";
import type { RackMetrics, RackMetricsStore } from "./rack-metrics-store.js";

/**
 * Deepest JSON nesting accepted. A real export nests about 16 deep with one level of array attributes; the cap
 * keeps schema checking and summarising (both recursive over attribute values) far from the stack limit.
 */
export const OTLP_MAX_JSON_DEPTH = 32;

export type OtlpIngestResult =
  | {
      ok: true;
      /** Entity ids whose metrics were stored. */
      accepted: string[];
      /** Data points of resources that could not be attributed to a Rack (OTLP partial success). */
      rejectedDataPoints: number;
      /** Why those points were rejected; empty when none were. */
      errorMessage: string;
    }
  | {
      ok: false;
      reason: "malformed" | "schema";
      message: string;
      issues?: Array<{ path: string; message: string }>;
    };

/**
 * Parses, checks and stores an export. Resources without a Rack identity are rejected one by one (partial
 * success), so one bad resource does not cost a Rack its metrics; an export with no usable resource is refused.
 *
 * @example
 * const r = ingestOtlpJson({ text: await req.text(), store, now: new Date() });
 * if (!r.ok) return c.json({ error: { code: r.reason, message: r.message } }, 400);
 */
export function ingestOtlpJson(opts: { text: string; store: RackMetricsStore; now: Date }): OtlpIngestResult {
  if (jsonNestsDeeperThan(opts.text, OTLP_MAX_JSON_DEPTH)) {
    return { ok: false, reason: "malformed", message: `JSON nested deeper than ${OTLP_MAX_JSON_DEPTH}` };
  }
  let data: unknown;
  try {
    data = JSON.parse(opts.text);
  } catch (err) {
    return { ok: false, reason: "malformed", message: `not JSON (${(err as Error).message.slice(0, 120)})` };
  }
  const parsed = OtlpExportMetricsRequestSchema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 20)
      .map((i) => ({ path: i.path.join("."), message: i.message }));
    const first = issues[0];
    const where = first === undefined ? "" : `${first.path || "(root)"}: ${first.message}`;
    return {
      ok: false,
      reason: "schema",
      message: `not an OTLP ExportMetricsServiceRequest: ${where}`,
      issues,
    };
  }
  const byRack = new Map<string, RackMetrics>();
  const reasons = new Set<string>();
  let rejectedDataPoints = 0;
  let resources = 0;
  for (const resource of parsed.data.resourceMetrics ?? []) {
    resources++;
    const result = summariseResource(resource, { limits: opts.store.limits, receivedAt: opts.now });
    if (!result.ok) {
      reasons.add(result.reason);
      rejectedDataPoints += countDataPoints(resource);
      continue;
    }
    const earlier = byRack.get(result.rack.entity_id);
    // One export may carry a Rack's metrics in several resources (e.g. several meter providers): keep them all.
    if (earlier === undefined) byRack.set(result.rack.entity_id, result.rack);
    else {
      const metrics = [...earlier.metrics, ...result.rack.metrics];
      const max = opts.store.limits.maxMetricsPerRack;
      earlier.truncated ||= result.rack.truncated || metrics.length > max;
      earlier.metrics = metrics.slice(0, max);
      earlier.rack_name ??= result.rack.rack_name;
    }
  }
  const errorMessage = [...reasons].slice(0, 5).join("; ");
  if (byRack.size === 0 && resources > 0) {
    return { ok: false, reason: "schema", message: `no resource names a Rack: ${errorMessage}` };
  }
  for (const rack of byRack.values()) opts.store.put(rack);
  return { ok: true, accepted: [...byRack.keys()], rejectedDataPoints, errorMessage };
}
