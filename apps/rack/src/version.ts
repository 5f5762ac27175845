// The running binary's version: injected by the esbuild bundler, with a fallback for vitest and tsx runs.
declare const __FLUXRIG_VERSION__: string;

/** Version string reported in hellos and heartbeats, e.g. `0.1.0+1a2b3c4d5e6f`. */
export const RACK_VERSION: string =
  typeof __FLUXRIG_VERSION__ === "string" ? __FLUXRIG_VERSION__ : "0.0.0-dev";
