// Starts the REST API (and the OTLP receiver) over the Mixer's services, from [api] config.
import type { Logger } from "pino";
import type { NamedTokens } from "./api/api-deps.js";
import { type ApiDeps, createApi, startApiServer } from "./api/index.js";
import type { MixerConfig } from "./config.js";

/** What the API serves: the Mixer's operations, its cluster facts, its counters and its Prometheus metrics. */
export type ApiServices = Pick<
  ApiDeps,
  | "racks"
  | "scenarios"
  | "audit"
  | "tokens"
  | "enrollmentTokens"
  | "expectedKeys"
  | "cluster"
  | "counters"
  | "prometheus"
  | "statsHistory"
> & {
  /** The live named tokens the bearer check reads. */
  namedTokens?: NamedTokens;
};

export interface ApiHandle {
  url: string;
  close(): Promise<void>;
}

export async function startApi(opts: {
  services: ApiServices;
  config: MixerConfig;
  logger: Logger;
  version: string;
}): Promise<ApiHandle> {
  const { config } = opts;
  const { namedTokens, ...services } = opts.services;
  const app = createApi({
    ...services,
    auth: {
      ...(namedTokens === undefined ? {} : { named: namedTokens }),
      token: config.api.auth_token || null,
      disabled: config.api.auth_disabled_dangerously,
      telemetryToken: config.api.telemetry_token || null,
      metricsToken: config.api.metrics_token || null,
    },
    // createApi binds `component: "api"` itself; binding it here too wrote the key twice into every API log line.
    logger: opts.logger,
    maxBodyBytes: config.api.max_body_bytes,
    version: opts.version,
  });
  const server = await startApiServer({
    app,
    listen: config.api.listen,
    logger: opts.logger.child({ component: "api" }),
  });
  return {
    url: server.url,
    // Open event streams never finish on their own: stop accepting, end them, then wait for the rest to drain.
    close: async () => {
      const closed = server.close();
      await opts.services.audit.stopFollowing();
      await closed;
    },
  };
}
