// What every phase of the swarm benchmark works with: options, the system under test, the fleet and its pump.
import type { FigureBook } from "./figures.js";
import type { HeartbeatPump } from "./heartbeat-pump.js";
import type { MixerUnderTest } from "./mixer-under-test.js";
import type { HeartbeatProbe } from "./noop-probe.js";
import type { RssWatch } from "./proc-stats.js";
import type { ProgressLine } from "./progress-line.js";
import type { SimulatedFleet } from "./simulated-fleet.js";
import type { SwarmOptions } from "./swarm-options.js";

export interface SwarmContext {
  opts: SwarmOptions;
  /** The command line that reproduces this run, quoted in every figure's note. */
  command: string;
  mut: MixerUnderTest;
  fleet: SimulatedFleet;
  pump: HeartbeatPump;
  /** The no-op subscriber (open bus), or a stand-in that counts nothing (jwt: it may not subscribe). */
  noop: HeartbeatProbe;
  progress: ProgressLine;
  book: FigureBook;
  mixerRss: RssWatch;
}

type HelloReply = Awaited<ReturnType<SimulatedFleet["racks"][number]["sendRaw"]>>;

export type { HelloReply };

const utf8 = new TextEncoder();

/**
 * A hello from Rack `i`, signed now (a hello is fresh for clock_skew only), with its passport when asked, and with a
 * reply key when `sealed` (the bootstrap hello of the one-hello flow).
 */
export function helloBytes(
  fleet: SimulatedFleet,
  i: number,
  withPassport: boolean,
  sealed = false,
): Uint8Array {
  const rack = fleet.racks[i]!;
  const passport = withPassport ? rack.passport : undefined;
  return utf8.encode(
    JSON.stringify(rack.buildHello({ ...(passport ? { passport } : {}), ...(sealed ? { sealed } : {}) })),
  );
}

/** The MachineID inside a decimal entity id (bits 55..40). */
export function machineIdOf(entityId: string): number {
  return Number((BigInt(entityId) >> 40n) & 0xffffn);
}
