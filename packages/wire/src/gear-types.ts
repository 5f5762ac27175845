// The built-in gear types and their config schemas (SPEC §11): declared once, checked by the Mixer at import and
// read by the Rack when it starts a gear.
import { z } from "zod";

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
// The same text as durations in the config files (`@fluxrig/config`), which this package may not import; a Rack
// test checks that both read every sample alike.
const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
/** Node's timers take at most 2^31-1 ms (about 24.8 days); a longer interval would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * A duration in a gear's config: text such as `"500ms"`, `"1s"`, `"5m"` or a number of milliseconds, read to
 * milliseconds within `[min, MAX_TIMER_MS]`; absent, the default.
 */
function gearDuration(opts: { min: number; default: number }) {
  const expected = `expected a duration such as "500ms", "1s" or "5m", or a number of milliseconds`;
  return z
    .union([z.number(), z.string()], { error: expected })
    .transform((value, ctx): number => {
      let ms: number | undefined;
      if (typeof value === "number") ms = value;
      else if (typeof value === "string") {
        const match = DURATION_PATTERN.exec(value.trim());
        if (match) ms = Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
      }
      if (ms === undefined || !Number.isFinite(ms)) {
        ctx.addIssue({ code: "custom", message: `${expected}, got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      if (ms < opts.min || ms > MAX_TIMER_MS) {
        ctx.addIssue({
          code: "custom",
          message: `expected a duration from ${opts.min}ms to 24d, got ${JSON.stringify(value)}`,
        });
        return z.NEVER;
      }
      return ms;
    })
    .default(opts.default);
}

const fieldName = z.string({ error: "expected a field name" });
const fieldList = z.array(fieldName, { error: "expected a list of field names" });

/** `ticker`: emits `{ count, ts }` on `out` every `interval` (default 1s, at least 10ms). */
const TickerConfigSchema = z.strictObject({ interval: gearDuration({ min: 10, default: 1_000 }) });

/**
 * `transform`: maps JSON messages from `in` to `out`, in this order: `pick` (keep only these fields; absent, keep
 * all), `rename` (`{ from: to }`), `set` (add or overwrite constant fields), `drop` (remove fields).
 */
const TransformConfigSchema = z.strictObject({
  pick: fieldList.optional(),
  rename: z
    .record(z.string(), fieldName, { error: "expected a mapping of field names to new names" })
    .default({}),
  set: z.record(z.string(), z.unknown(), { error: "expected a mapping of fields to set" }).default({}),
  drop: fieldList.default([]),
});

/** `counter`: counts messages arriving on `in` and logs the total every `every` messages (default 10). */
const CounterConfigSchema = z.strictObject({
  every: z
    .number({ error: "expected a whole number of messages, at least 1" })
    .int("expected a whole number of messages, at least 1")
    .min(1, "expected a whole number of messages, at least 1")
    .default(10),
});

/**
 * Every built-in gear type with the schema of its `config`. The Mixer refuses a scenario whose gear config does not
 * pass (unknown keys included); the Rack reads the config through the same schema, defaults applied.
 *
 * @example
 * GEAR_CONFIG_SCHEMAS.ticker.parse({ interval: "250ms" }); // { interval: 250 }
 */
export const GEAR_CONFIG_SCHEMAS = {
  ticker: TickerConfigSchema,
  transform: TransformConfigSchema,
  counter: CounterConfigSchema,
} as const;

/** The name of a built-in gear type. */
export type GearTypeName = keyof typeof GEAR_CONFIG_SCHEMAS;

/** A built-in gear type's config as the gear reads it (defaults applied, durations in milliseconds). */
export type GearConfig<T extends GearTypeName> = z.output<(typeof GEAR_CONFIG_SCHEMAS)[T]>;

/**
 * The built-in gear types, in the order docs and messages list them.
 *
 * @example
 * GEAR_TYPE_NAMES.join(", "); // "ticker, transform, counter"
 */
export const GEAR_TYPE_NAMES = Object.keys(GEAR_CONFIG_SCHEMAS) as readonly GearTypeName[];

/**
 * Whether `type` names a built-in gear type.
 *
 * @example
 * isGearTypeName("ticker"); // true
 */
export function isGearTypeName(type: string): type is GearTypeName {
  return Object.hasOwn(GEAR_CONFIG_SCHEMAS, type);
}

/** One problem of a gear's config: where inside `config`, and what is wrong. */
export interface GearConfigIssue {
  path: (string | number)[];
  message: string;
}

/** The result of {@link checkGearConfig}. */
export type GearConfigCheck<C> = { ok: true; config: C } | { ok: false; issues: GearConfigIssue[] };

/**
 * Checks a gear's config against its type's schema and reports every problem: an unknown key as one issue of its
 * own (at that key, naming the keys the type takes), a bad value at its path. Never throws.
 *
 * @example
 * checkGearConfig(GEAR_CONFIG_SCHEMAS.ticker, { interval_ms: 1000 }, "ticker");
 * // { ok: false, issues: [{ path: ["interval_ms"], message: 'unknown key "interval_ms" (a ticker gear takes: interval)' }] }
 */
export function checkGearConfig<C>(schema: z.ZodType<C>, config: unknown, type: string): GearConfigCheck<C> {
  const parsed = schema.safeParse(config ?? {});
  if (parsed.success) return { ok: true, config: parsed.data };
  const takes = schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
  const issues: GearConfigIssue[] = [];
  for (const issue of parsed.error.issues) {
    const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
    if (issue.code === "unrecognized_keys") {
      const known =
        takes.length > 0 ? `a ${type} gear takes: ${takes.join(", ")}` : `a ${type} gear takes none`;
      for (const key of issue.keys)
        issues.push({ path: [...path, key], message: `unknown key "${key}" (${known})` });
    } else if (issue.code === "invalid_type" && path.length === 0) {
      issues.push({ path, message: "expected a mapping of config keys" });
    } else {
      issues.push({ path, message: issue.message });
    }
  }
  return { ok: false, issues };
}
