// The whole Mixer in-process (startMixer: data dir, DuckDB file, bus users, API) against a real nats-server, in
// either bus mode: jwt with the resolver config made from the Mixer's own data dir keys, or an open server.
import type { KeyObject } from "node:crypto";
import { join } from "node:path";
import { Writable } from "node:stream";
import { nonceAuthenticator } from "@fluxrig/passport";
import { freePort, type NatsServer, startNatsServer, type TempDir, tempDir } from "@fluxrig/testkit";
import { INBOX_PREFIXES, rackInboxPrefix } from "@fluxrig/wire";
import { credsAuthenticator, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";
import { pino } from "pino";
import { type BusKeys, loadBusKeys } from "../../src/bus-auth/key-store.js";
import { natsResolverConfig } from "../../src/bus-auth/resolver-config.js";
import { bootstrapUser, credsFileText } from "../../src/bus-auth/service-users.js";
import { fleetAccountJwt, operatorJwt, systemAccountJwt } from "../../src/bus-auth/trust-chain.js";
import { loadMixerConfig } from "../../src/config.js";
import { type RunningMixer, startMixer } from "../../src/mixer.js";
import { nowSeconds } from "./jwt-bus.js";

export interface TestMixer extends AsyncDisposable {
  nats: NatsServer;
  dataDir: string;
  /** The bus keys in the Mixer's data dir (jwt mode only). */
  keys: BusKeys | undefined;
  running: RunningMixer;
  /** Every log line the Mixer wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  /** Connects with the shared bootstrap `.creds`, as a brand-new Rack does (jwt mode). */
  connectBootstrap(opts?: NodeConnectionOptions): Promise<NatsConnection>;
  /** Connects as a Rack's own key with the JWT it was given, on its own inbox prefix. */
  connectRack(
    rack: { name: string; privateKey: KeyObject; jwt: string },
    opts?: NodeConnectionOptions,
  ): Promise<NatsConnection>;
}

/** The resolver config block for the keys in `dataDir` (what `fluxrig-mixer nats-config` prints). */
export async function resolverConfigFor(dataDir: string): Promise<{ keys: BusKeys; config: string }> {
  const keys = await loadBusKeys(dataDir);
  const now = nowSeconds();
  const config = natsResolverConfig({
    operatorJwt: operatorJwt(keys, now),
    systemAccount: keys.system.nkey,
    preload: {
      [keys.system.nkey]: systemAccountJwt(keys, now),
      [keys.fleet.nkey]: fleetAccountJwt(keys, { revocations: {}, nowSeconds: now }),
    },
    resolverDir: join(dataDir, "nats-jwt"),
  });
  return { keys, config };
}

/**
 * Starts nats-server (jwt: configured from a fresh data dir's keys; none: open) and the Mixer over that data dir.
 * `env` sets FLUXRIG_* keys as the process would read them.
 */
export async function startTestMixer(opts: {
  auth: "jwt" | "none";
  env?: Record<string, string>;
  /** jwt: configure nats-server with this block instead of the one for the Mixer's own keys. */
  serverConfig?: string;
}): Promise<TestMixer> {
  const dir: TempDir = tempDir("mixer-bus");
  const cleanups: Array<() => Promise<void>> = [async () => dir.remove()];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  };
  try {
    const resolver = opts.auth === "jwt" ? await resolverConfigFor(dir.path) : undefined;
    const extraConfig = opts.serverConfig ?? resolver?.config;
    const nats = await startNatsServer(extraConfig === undefined ? {} : { extraConfig });
    cleanups.push(() => nats.stop());
    const { config } = await loadMixerConfig({
      env: {
        FLUXRIG_NATS_URL: nats.url,
        FLUXRIG_NATS_AUTH: opts.auth,
        FLUXRIG_NATS_CONNECT_TIMEOUT: "5s",
        FLUXRIG_MIXER_DATA_DIR: dir.path,
        FLUXRIG_API_LISTEN: `127.0.0.1:${await freePort()}`,
        FLUXRIG_API_AUTH_DISABLED_DANGEROUSLY: "true",
        ...opts.env,
      },
    });
    const logs: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString("utf8").split("\n")) if (line) logs.push(JSON.parse(line));
        done();
      },
    });
    const running = await startMixer({
      config,
      logger: pino({ level: "debug" }, sink),
      version: "0.0.0-test",
    });
    cleanups.push(() => running.stop());
    const keys = resolver?.keys;
    return {
      nats,
      dataDir: dir.path,
      keys,
      running,
      logs,
      connectBootstrap: (connectOpts = {}) => {
        if (keys === undefined) throw new Error("no bootstrap credential in none mode");
        const creds = credsFileText(bootstrapUser(keys, { nowSeconds: nowSeconds(), ttlSeconds: 3600 }));
        return nats.connect({
          authenticator: credsAuthenticator(new TextEncoder().encode(creds)),
          inboxPrefix: INBOX_PREFIXES.bootstrap,
          reconnect: false,
          ...connectOpts,
        });
      },
      connectRack: (rack, connectOpts = {}) =>
        nats.connect({
          authenticator: nonceAuthenticator({ privateKey: rack.privateKey, jwt: () => rack.jwt }),
          inboxPrefix: rackInboxPrefix(rack.name),
          reconnect: false,
          ...connectOpts,
        }),
      [Symbol.asyncDispose]: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
