// Starts the REST API (and the OTLP receiver) over a running Mixer, from [api] config.
import type { Logger } from "pino";
import { createApi, startApiServer } from "./api/index.js";
import type { MixerConfig } from "./config.js";
import type { Mixer } from "./mixer.js";
import { RackMetricsStore } from "./telemetry/index.js";

export interface ApiHandle {
  url: string;
  close(): Promise<void>;
}

export async function startApi(opts: {
  mixer: Mixer;
  config: MixerConfig;
  logger: Logger;
  version: string;
}): Promise<ApiHandle> {
  const { mixer, config } = opts;
  const logger = opts.logger.child({ component: "api" });
  const app = createApi({
    racks: mixer.racks,
    scenarios: mixer.scenarios,
    audit: mixer.audit,
    cluster: () => mixer.clusterInfo(),
    auth: {
      token: config.api.auth_token || null,
      disabled: config.api.auth_disabled_dangerously,
      telemetryToken: config.api.telemetry_token || null,
    },
    logger,
    maxBodyBytes: config.api.max_body_bytes,
    metrics: new RackMetricsStore(),
    counters: mixer.counters,
    version: opts.version,
  });
  const server = await startApiServer({ app, listen: config.api.listen, logger });
  return { url: server.url, close: () => server.close() };
}
