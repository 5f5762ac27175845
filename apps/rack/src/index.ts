// Public API of @fluxrig/rack for embedding and tests: the agent factory, its config and its building blocks.
export type { BusMode, Dial, DialRequest } from "./bus/bus-link.js";
export { loadCredsFile } from "./bus/creds-file.js";
export { type LoadRackConfigOptions, loadRackConfig, type RackConfig, RackConfigSchema } from "./config.js";
export type { GearInfo, GearState } from "./gears/gear-supervisor.js";
export type { Gear, GearContext, GearMessage, GearType, GearTypeRegistry } from "./gears/gear-types.js";
export { type StatePaths, statePaths } from "./identity/state-paths.js";
export { type LazySubsystem, loadedSubsystems } from "./lazy-subsystems.js";
export { type LifecycleState, transition } from "./lifecycle/agent-state-machine.js";
export { DEFAULT_TIMING, type RackTiming } from "./lifecycle/backoff.js";
export { connectWithRetry } from "./nats-link.js";
export { type Clock, createRack, type Rack, type RackDeps, type RackSnapshot } from "./rack.js";
export {
  ClusterKeyMismatchError,
  ClusterPinError,
  GearConfigError,
  HelloFailedError,
  RackCredsError,
  RackError,
  RackUsageError,
  UnknownGearTypeError,
} from "./rack-error.js";
export { RACK_VERSION } from "./version.js";
