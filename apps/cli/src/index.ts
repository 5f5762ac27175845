// Public API of @fluxrig/cli: run the CLI in-process (as tests and wrappers do), and its exit codes.
export { ApiClient, type ApiClientOptions, type FetchLike } from "./api-client.js";
export { runCli } from "./cli.js";
export type { CliDeps, CliIo } from "./cli-context.js";
export { CliError } from "./cli-error.js";
export { EXIT, type ExitCode, exitCodeForStatus } from "./exit-codes.js";
export { CLI_VERSION } from "./version.js";
