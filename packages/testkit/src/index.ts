// @fluxrig/testkit: the helpers every integration test uses (nats-server, processes, temp files, waits).
export {
  type AxeViolation,
  BrowserProblemsError,
  BrowserTab,
  ChromiumMissingError,
  chromiumPath,
  DEFAULT_CHROMIUM_BIN,
  type RecordedRequest,
  runAxe,
  seriousViolations,
  type TabOptions,
  TestBrowser,
} from "./browser.js";
export {
  type ExitStatus,
  type LineFilter,
  SpawnedProcess,
  type StartProcessOptions,
  startProcess,
} from "./child-process.js";
export { killAllStarted, type Started, startedResources } from "./cleanup-registry.js";
export {
  BundleMissingError,
  NatsServerStartError,
  ProcessExitedError,
  ProcessTimeoutError,
  TestkitError,
  WaitForTimeout,
} from "./errors.js";
export {
  type FaultHooks,
  type FaultRecord,
  FaultReport,
  type FaultScenario,
  type FaultScenarioOptions,
  faultSeed,
  openFaultScenario,
  SeededRandom,
} from "./fault-report.js";
export { freePort } from "./free-port.js";
export {
  describeFsFaultSupport,
  type FsFault,
  type FsFaultSupport,
  fillFilesystem,
  fsFaultSupport,
  lockDirectory,
  mountTmpfs,
  remountReadOnly,
} from "./fs-faults.js";
export { HeartbeatSends, type OfflineVerdict } from "./heartbeat-sends.js";
export { type EntryMatcher, type LogEntry, matchesEntry, parseLogLine } from "./json-lines.js";
export {
  headerBlock,
  headerValue,
  type LightAuth,
  type LightMsg,
  LightNats,
  LightNatsConnectError,
  type LightNatsOptions,
} from "./light-nats.js";
export { type CapturedLine, LineLog, type LineLogOptions, type LineSource } from "./line-log.js";
export {
  attachLogsOnFailure,
  formatLogs,
  type HasOutput,
  type LogsOnFailureOptions,
  type OnTestFailed,
} from "./logs-on-failure.js";
export {
  MixerCluster,
  type MixerClusterOptions,
  memberName,
  startMixerCluster,
} from "./mixer-cluster.js";
export {
  bootstrapConnectOptions,
  type HarnessBusAuth,
  type JwtBusFiles,
  MixerHarness,
  type MixerHarnessOptions,
  type MixerProcessSpec,
  mixerApi,
  OPEN_BUS_ENV,
  runNatsConfig,
  spawnMixer,
  TEST_TOKEN,
  waitForMixerReady,
} from "./mixer-harness.js";
export {
  NatsCluster,
  type NatsClusterOptions,
  type NodeStreamState,
  SAME_STREAM_STATE_TIMEOUT_MS,
  type SameStreamStateOptions,
  startNatsCluster,
} from "./nats-cluster.js";
export { type NatsConfigInput, natsConfigText } from "./nats-config.js";
export { NatsServer, type NatsServerOptions, startNatsServer, type TakeDownOptions } from "./nats-server.js";
export {
  type ControlSignatureMode,
  type HelloOverrides,
  type JwtEnrollOptions,
  type RefusedControlMessage,
  ScriptedRack,
} from "./scripted-rack.js";
export { faultIterations, fuzzRuns, isFullSuiteRun } from "./suite-intensity.js";
export { type TempDir, type TempDuckDbPath, tempDir, tempDuckDbPath } from "./temp-files.js";
export { eventually, type WaitForOptions, waitFor } from "./wait-for.js";
export {
  binaryPath,
  type NodeSpawnOptions,
  type RunOptions,
  type RunResult,
  repoRoot,
  runBinary,
  runScript,
  spawnBinary,
  spawnScript,
  type WorkspaceBinary,
} from "./workspace-binaries.js";
