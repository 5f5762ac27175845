// Public API of @fluxrig/config.
export { duration, formatDuration, parseDuration } from "./duration.js";
export { ConfigError, ConfigFileError, ConfigSyntaxError, ConfigValueError } from "./errors.js";
export {
  type ConfigSource,
  type LoadConfigOptions,
  type LoadedConfig,
  loadConfig,
  parseConfig,
} from "./load-config.js";
export { natsServers } from "./nats-servers.js";
