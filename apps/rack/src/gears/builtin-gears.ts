// The built-in gear types: `ticker` (source), `transform` (maps JSON fields) and `counter` (sink).
import { parseDuration } from "@fluxrig/config";
import { GearConfigError } from "../rack-error.js";
import type { GearContext, GearMessage, GearType, GearTypeRegistry } from "./gear-types.js";

function intervalMs(ctx: GearContext, key: string, fallback: number): number {
  const value = ctx.config[key];
  if (value === undefined) return fallback;
  const ms = typeof value === "number" ? value : typeof value === "string" ? parseDuration(value) : undefined;
  if (ms === undefined || !Number.isFinite(ms) || ms < 10) {
    throw new GearConfigError({
      gear: ctx.name,
      message: `${key}: expected a duration such as "1s" or milliseconds >= 10`,
    });
  }
  return ms;
}

function stringRecord(ctx: GearContext, key: string): Record<string, string> {
  const value = ctx.config[key] ?? {};
  const ok =
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === "string");
  if (!ok)
    throw new GearConfigError({ gear: ctx.name, message: `${key}: expected an object of field names` });
  return value as Record<string, string>;
}

function stringList(ctx: GearContext, key: string): string[] | undefined {
  const value = ctx.config[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new GearConfigError({ gear: ctx.name, message: `${key}: expected a list of field names` });
  }
  return value as string[];
}

/** Emits `{ count, ts }` on `out` every `interval` (duration text or ms, default 1s). */
export const tickerGear: GearType = {
  type: "ticker",
  create(ctx) {
    const every = intervalMs(ctx, "interval", 1_000);
    let count = 0;
    ctx.every(every, () => {
      count += 1;
      ctx.emit("out", { count, ts: new Date().toISOString() });
    });
    return {};
  },
};

/**
 * Maps JSON messages from `in` to `out`, in this order: `pick` (keep only these fields), `rename`
 * ({ from: to }), `set` (add or overwrite constant fields), `drop` (remove fields).
 */
export const transformGear: GearType = {
  type: "transform",
  create(ctx) {
    const pick = stringList(ctx, "pick");
    const rename = stringRecord(ctx, "rename");
    const drop = stringList(ctx, "drop") ?? [];
    const setValue = ctx.config.set ?? {};
    if (typeof setValue !== "object" || setValue === null || Array.isArray(setValue)) {
      throw new GearConfigError({ gear: ctx.name, message: "set: expected an object of fields to set" });
    }
    const set = setValue as GearMessage;
    return {
      receive(_port, message) {
        let out: GearMessage = pick
          ? Object.fromEntries(pick.filter((k) => k in message).map((k) => [k, message[k]]))
          : { ...message };
        for (const [from, to] of Object.entries(rename)) {
          if (!(from in out)) continue;
          const { [from]: moved, ...rest } = out;
          out = { ...rest, [to]: moved };
        }
        out = { ...out, ...set };
        for (const key of drop) delete out[key];
        ctx.emit("out", out);
      },
    };
  },
};

/** Counts messages arriving on `in` and logs the total every `every` messages (default 10). */
export const counterGear: GearType = {
  type: "counter",
  create(ctx) {
    const every = ctx.config.every ?? 10;
    if (typeof every !== "number" || !Number.isInteger(every) || every < 1) {
      throw new GearConfigError({ gear: ctx.name, message: "every: expected a positive integer" });
    }
    let count = 0;
    return {
      receive() {
        count += 1;
        if (count % every === 0) ctx.log.info({ gear: ctx.name, count }, "counter: messages received");
      },
      stop() {
        ctx.log.info({ gear: ctx.name, count }, "counter: stopped");
      },
    };
  },
};

/** The types every Rack knows. */
export const BUILTIN_GEAR_TYPES: GearTypeRegistry = {
  ticker: tickerGear,
  transform: transformGear,
  counter: counterGear,
};
