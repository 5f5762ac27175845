// The Mixer's logger: JSON lines on stdout (pino), one child per component.
import { type LevelWithSilent, type Logger, pino } from "pino";

export type { Logger };

/** Creates the root logger. Logs are JSON lines so tests and log shippers can parse them. */
export function createLogger(opts: { level: LevelWithSilent; name?: string }): Logger {
  return pino({
    name: opts.name ?? "fluxrig-mixer",
    level: opts.level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
