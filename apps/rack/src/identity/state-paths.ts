// The files a Rack keeps in its state dir, in one place so the agent and `status` agree on them.
import { join, resolve } from "node:path";

/** Paths of the state dir's files. */
export interface StatePaths {
  dir: string;
  /** The Rack's Ed25519 private key (PKCS#8 PEM, mode 0600): its identity. */
  key: string;
  /** The passport (signed state envelope), mode 0600. */
  stateFlux: string;
  /** The pinned cluster key and when/how it was pinned, mode 0600. */
  rackJson: string;
  /** The last scenario applied while active, so gears can run again before the Mixer answers. */
  scenario: string;
  /** This Rack's own bus credential (a NATS user JWT the Mixer issued for its key), mode 0600. */
  busJwt: string;
}

/**
 * Paths under `stateDir`, resolved against the current directory.
 * @example statePaths("./state").stateFlux // "/srv/rack/state/state.flux"
 */
export function statePaths(stateDir: string): StatePaths {
  const dir = resolve(stateDir);
  return {
    dir,
    key: join(dir, "rack.key"),
    stateFlux: join(dir, "state.flux"),
    rackJson: join(dir, "rack.json"),
    scenario: join(dir, "scenario.json"),
    busJwt: join(dir, "bus.jwt"),
  };
}
