// The built-in gear types: `ticker` (source), `transform` (maps JSON fields) and `counter` (sink). Their config
// schemas are `@fluxrig/wire`'s, the ones the Mixer checks at import; the runtime reads the config through them.
import { GEAR_CONFIG_SCHEMAS, type GearConfig, type GearTypeName } from "@fluxrig/wire";
import type { GearMessage, GearType } from "./gear-types.js";

/** Emits `{ count, ts }` on `out` every `interval` (duration text or ms, default 1s). */
export const tickerGear: GearType<GearConfig<"ticker">> = {
  type: "ticker",
  config: GEAR_CONFIG_SCHEMAS.ticker,
  create(ctx) {
    let count = 0;
    ctx.every(ctx.config.interval, () => {
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
export const transformGear: GearType<GearConfig<"transform">> = {
  type: "transform",
  config: GEAR_CONFIG_SCHEMAS.transform,
  create(ctx) {
    const { pick, rename, set, drop } = ctx.config;
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
export const counterGear: GearType<GearConfig<"counter">> = {
  type: "counter",
  config: GEAR_CONFIG_SCHEMAS.counter,
  create(ctx) {
    const { every } = ctx.config;
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

/** The types every Rack knows: exactly the built-in gear types of `@fluxrig/wire`, each with its schema. */
export const BUILTIN_GEAR_TYPES: { readonly [T in GearTypeName]: GearType<GearConfig<T>> } = {
  ticker: tickerGear,
  transform: transformGear,
  counter: counterGear,
};
