// The running binary's version: package version plus git SHA, injected by the bundler.
declare const __FLUXRIG_VERSION__: string | undefined;

/** e.g. "0.1.0+3f2a9c1d0b7e"; "0.1.0+dev" when running from source (tests). */
export const CLI_VERSION: string =
  typeof __FLUXRIG_VERSION__ === "string" ? __FLUXRIG_VERSION__ : "0.1.0+dev";
