// Phase: offered heartbeat rate stepped up until lag or loss exceeds its bound; the bus's own ceiling alongside.
import { ascending, type Figure, latencyFigures, percentile, round } from "./figures.js";
import { sampleLag } from "./lag-sampler.js";
import { between, cpuText, limitText, type Reading, takeReading, type Window } from "./load-meter.js";
import { settle } from "./phase-steady.js";
import type { SwarmContext } from "./swarm-context.js";
import { sleep } from "./waits.js";

/** The generator must send at least this share of the offered rate for a step to say anything about the Mixer. */
const GENERATOR_SHARE = 0.95;
/** Lag reads are this far apart (start to start) unless a read takes longer. */
const LAG_EVERY_MS = 250;

export interface StepResult {
  label: string;
  offered: number;
  window: Window;
  lagP50: number;
  lagP99: number;
  lagMax: number;
  lagReads: number;
  /** p99 of how long the API took to answer a lag read. */
  readP99: number;
  /** How long the API took to answer each lag read, in ms, ascending. */
  readMs: number[];
  held: boolean;
  /** Why the step did not hold, or what kept it from going higher. */
  verdict: string;
}

export interface StepsOutcome {
  steps: StepResult[];
  /** The highest offered rate of a step that held (the Mixer accepted within the drop bound), NaN when none did. */
  sustained: number;
  sustainedStep: StepResult | undefined;
  /** The highest rate seen at the no-op subscriber in any window. */
  busCeiling: number;
  busStep: StepResult | undefined;
}

/** Holds the pump's current setting for `holdMs` (after a warm-up), sampling lag every second. */
async function measureWindow(
  ctx: SwarmContext,
  label: string,
  offered: number,
  holdMs: number,
): Promise<StepResult> {
  const { opts } = ctx;
  await sleep(Math.min(2_000, holdMs / 4));
  const r0: Reading = await takeReading(ctx);
  const lags: number[] = [];
  const readTimes: number[] = [];
  let missing = 0;
  let reads = 0;
  const end = performance.now() + holdMs;
  while (performance.now() < end) {
    const t0 = performance.now();
    try {
      const s = await sampleLag(ctx);
      lags.push(...s.lagsMs);
      readTimes.push(s.readMs);
      missing += s.missing;
      reads++;
    } catch (err) {
      ctx.progress.note(`${label}: lag read failed: ${(err as Error).message.slice(0, 80)}`);
    }
    const sorted = ascending(lags);
    ctx.progress.update(
      `${label}: sent ${ctx.pump.sent}, lag p99 ${round(percentile(sorted, 99), 0)} ms, ${round((end - performance.now()) / 1000, 0)} s left`,
    );
    await sleep(Math.max(0, Math.min(LAG_EVERY_MS - (performance.now() - t0), end - performance.now())));
  }
  const r1 = await takeReading(ctx);
  const w = between(r0, r1);
  const sorted = ascending(lags);
  const lagP99 = percentile(sorted, 99);
  const problems: string[] = [];
  if (!(lagP99 <= opts.lagBoundMs)) problems.push(`lag p99 ${round(lagP99, 0)} ms > ${opts.lagBoundMs} ms`);
  if (missing > 0) problems.push(`${missing} sampled rows without last_seen`);
  if (w.lossFraction > opts.dropBound)
    problems.push(`${round(w.lossFraction * 100, 2)}% not accepted > ${opts.dropBound * 100}%`);
  if (w.offline > 0) problems.push(`${w.offline} Racks wrongly marked offline`);
  if (w.slowConsumers > 0) problems.push(`nats-server cut ${w.slowConsumers} slow consumer(s)`);
  return {
    label,
    offered,
    window: w,
    lagP50: percentile(sorted, 50),
    lagP99,
    lagMax: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
    lagReads: reads,
    readP99: percentile(ascending(readTimes), 99),
    readMs: ascending(readTimes),
    held: problems.length === 0,
    verdict: problems.join("; "),
  };
}

function stepFigure(ctx: SwarmContext, s: StepResult): Figure {
  const w = s.window;
  const offered = Number.isFinite(s.offered) ? `${s.offered}/s` : "flat out";
  return {
    name: `heartbeat.step.${s.label}`,
    value: round(w.acceptedRate, 0),
    unit: "heartbeats/s",
    note:
      `${s.held ? "HELD" : "NOT HELD"}${s.verdict ? ` (${s.verdict})` : ""}: offered ${offered}, sent ${round(w.sentRate, 0)}/s` +
      `${w.shedRate > 0 ? ` (generator shed ${round(w.shedRate, 0)}/s)` : ""}, no-op subscriber ${round(w.noopRate, 0)}/s, ` +
      `Mixer accepted ${round(w.acceptedRate, 0)}/s (${round((w.acceptedRate / w.noopRate) * 100, 1)}% of no-op), ` +
      `not accepted (backlog or dropped) ${round(w.lossFraction * 100, 2)}%, lag p50/p99/max ${round(s.lagP50, 0)}/${round(s.lagP99, 0)}/` +
      `${round(s.lagMax, 0)} ms over ${s.lagReads} reads of ${ctx.fleet.sampleSize} Racks (API read p99 ${round(s.readP99, 0)} ms), ${round(w.mixerUsPerHeartbeat, 1)} us Mixer CPU/heartbeat; ` +
      `${cpuText(w)}; reading: ${limitText(w)}; ${round(w.seconds, 1)} s window`,
  };
}

export async function rateStepsPhase(ctx: SwarmContext): Promise<StepsOutcome> {
  const { opts, fleet, pump } = ctx;
  const steps: StepResult[] = [];
  const racks = fleet.enrolled;
  for (const rate of opts.rates) {
    ctx.progress.phase(
      `offered ${rate} heartbeats/s (${racks} Racks, each every ${round((racks * 1000) / rate, 0)} ms)`,
    );
    pump.setPeriod((racks * 1000) / rate);
    const s = await measureWindow(ctx, String(rate), rate, opts.stepMs);
    if (s.window.sentRate < rate * GENERATOR_SHARE) {
      s.verdict = `${s.verdict ? `${s.verdict}; ` : ""}generator sent only ${round(s.window.sentRate, 0)}/s of ${rate}/s`;
    }
    steps.push(s);
    ctx.book.add(stepFigure(ctx, s));
    if (!s.held || s.window.sentRate < rate * GENERATOR_SHARE) break;
  }
  if (opts.flatOut) {
    ctx.progress.phase("flat out: heartbeats as fast as the generator and the bus allow");
    pump.setFlatOut();
    const s = await measureWindow(ctx, "flat-out", Number.POSITIVE_INFINITY, opts.stepMs);
    steps.push(s);
    ctx.book.add(stepFigure(ctx, s));
  }
  ctx.progress.phase("back to the base rate; waiting for the Mixer to catch up");
  const settled = await settle(ctx, 90_000);
  if (!settled) ctx.progress.note("the Mixer did not settle within 90 s after the rate steps");

  const held = steps.filter(
    (s) => s.held && Number.isFinite(s.offered) && s.window.sentRate >= s.offered * GENERATOR_SHARE,
  );
  const sustainedStep = held.reduce<StepResult | undefined>(
    (best, s) => (best === undefined || s.offered > best.offered ? s : best),
    undefined,
  );
  const busStep = steps.reduce<StepResult | undefined>(
    (best, s) => (best === undefined || s.window.noopRate > best.window.noopRate ? s : best),
    undefined,
  );
  return {
    steps,
    sustained: sustainedStep?.offered ?? Number.NaN,
    sustainedStep,
    busCeiling: busStep?.window.noopRate ?? Number.NaN,
    busStep,
  };
}

/** The headline figures of the steps: the sustained rate, the bus's ceiling, and the one as a share of the other. */
export function stepsSummary(ctx: SwarmContext, o: StepsOutcome): Figure[] {
  const sus = o.sustainedStep;
  const firstFailed = o.steps.find((s) => !s.held && Number.isFinite(s.offered));
  const generatorBound = o.steps.find((s) => s.verdict.includes("generator sent only"));
  const limit = firstFailed
    ? `next step (${firstFailed.label}/s offered) failed: ${firstFailed.verdict}; ${limitText(firstFailed.window)}; ${cpuText(firstFailed.window)}`
    : generatorBound
      ? `the generator could not offer more (${generatorBound.verdict}); ${cpuText(generatorBound.window)}`
      : "every offered step held: offer higher --rates to find the limit";
  const bus = o.busStep;
  const busiest = o.steps.reduce<StepResult | undefined>(
    (best, s) => (best === undefined || s.window.acceptedRate > best.window.acceptedRate ? s : best),
    undefined,
  );
  // The API's latency while the whole fleet heartbeats at the Mixer's interval: the step at the rest rate.
  const rest = o.steps.find((s) => s.offered === round((ctx.fleet.enrolled * 1000) / ctx.opts.intervalMs, 0));
  return [
    ...latencyFigures("api.racks_at_n_", rest?.readMs ?? [], {
      digits: 1,
      note: rest
        ? `GET /api/v1/racks?prefix=...&limit=100 (the lag reads, one every ${LAG_EVERY_MS} ms, ${rest.readMs.length} of them) answered while ` +
          `${ctx.fleet.enrolled} Racks heartbeat every ${ctx.opts.intervalMs} ms (step ${rest.label}: accepted ${round(rest.window.acceptedRate, 0)}/s); ` +
          `request sent to body read, timed on a thread of the generator's own, off its busy event loop; ${cpuText(rest.window)}; ${ctx.command}`
        : `no step at the rest rate (${ctx.fleet.enrolled} Racks / ${ctx.opts.intervalMs} ms): add it to --rates`,
    }),
    {
      name: "heartbeat.sustained",
      value: round(o.sustained, 0),
      unit: "heartbeats/s",
      note: sus
        ? `highest offered rate the Mixer held for ${round(sus.window.seconds, 0)} s with lag p99 <= ${ctx.opts.lagBoundMs} ms and <= ${ctx.opts.dropBound * 100}% not accepted ` +
          `(sent ${round(sus.window.sentRate, 0)}/s, accepted ${round(sus.window.acceptedRate, 0)}/s, lag p99 ${round(sus.lagP99, 0)} ms, ` +
          `${round(sus.window.lossFraction * 100, 2)}% not accepted; ${ctx.fleet.enrolled} Racks); ` +
          `target >= 20,000; limited by: ${limit}; ${ctx.command}`
        : `no step held; ${limit}; ${ctx.command}`,
    },
    {
      name: "bus.noop_ceiling",
      value: round(o.busCeiling, 0),
      unit: "msgs/s",
      note: bus
        ? `highest rate the same heartbeats reached a no-op subscriber (raw protocol, own process) on the same ` +
          `nats-server, in step ${bus.label}: sent ${round(bus.window.sentRate, 0)}/s; ${cpuText(bus.window)}`
        : "no step measured",
    },
    {
      name: "heartbeat.mixer_core_ceiling",
      value: round(1e6 / (busiest?.window.mixerUsPerHeartbeat ?? Number.NaN), 0),
      unit: "heartbeats/s",
      note: busiest
        ? `NOT MEASURED, projected: 1 s / the Mixer's own CPU per accepted heartbeat (${round(busiest.window.mixerUsPerHeartbeat, 1)} us, ` +
          `user+system from /proc, at its busiest step ${busiest.label}, ${round(busiest.window.acceptedRate, 0)}/s accepted): ` +
          "what one core given wholly to the Mixer would ingest; other processes on this machine do not move this figure much"
        : "no step measured",
    },
    {
      name: "heartbeat.ingest_fraction",
      value: round((o.sustained / o.busCeiling) * 100, 1),
      unit: "%",
      note: "heartbeat.sustained / bus.noop_ceiling (both from this run, same nats-server, same machine)",
    },
  ];
}
