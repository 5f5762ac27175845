// A nats-server 2.10 in JWT mode with the Mixer's generated resolver config, and clients that connect as bus users.
import type { KeyObject } from "node:crypto";
import { join } from "node:path";
import { generateKeyPair, nonceAuthenticator, publicKeyToBase64url } from "@fluxrig/passport";
import { type NatsServer, startNatsServer, type TempDir, tempDir } from "@fluxrig/testkit";
import { INBOX_PREFIXES, rackInboxPrefix } from "@fluxrig/wire";
import {
  type NatsConnection,
  type NodeConnectionOptions,
  PermissionViolationError,
} from "@nats-io/transport-node";
import { issueAccountJwt, issueUserJwt } from "../../src/bus-auth/issue-jwt.js";
import { type BusKeys, loadBusKeys } from "../../src/bus-auth/key-store.js";
import { type RackBusState, rackPermissions } from "../../src/bus-auth/permissions.js";
import { natsResolverConfig } from "../../src/bus-auth/resolver-config.js";
import { type BusUser, mixerFleetUser, mixerSystemUser } from "../../src/bus-auth/service-users.js";
import {
  fleetAccountJwt,
  operatorJwt,
  type RevocationList,
  systemAccountJwt,
  TRUST_NAMES,
} from "../../src/bus-auth/trust-chain.js";

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
const TTL = 3600;

/** Everything a test needs: the server, the Mixer's keys, and ways to connect as the Mixer or as a Rack. */
export interface JwtBus extends AsyncDisposable {
  nats: NatsServer;
  keys: BusKeys;
  /** The fleet account's revocations as last pushed (or preloaded). */
  revocations: RevocationList;
  connectMixer(): Promise<NatsConnection>;
  connectSystem(): Promise<NatsConnection>;
  connectRack(rack: TestRack, opts?: NodeConnectionOptions): Promise<NatsConnection>;
  /** A Rack with a user JWT for `state`: a fresh node:crypto key unless one is given, issued now unless told. */
  rack(
    state: RackBusState & { status: "pending" | "active" },
    opts?: { privateKey?: KeyObject; issuedAt?: number },
  ): TestRack;
}

/** A Rack's key and its user JWT. */
export interface TestRack {
  name: string;
  privateKey: KeyObject;
  publicKey: string;
  nkey: string;
  jwt: string;
}

/**
 * Starts nats-server (NATS_SERVER_BIN, 2.10.27 in this project) with the generated operator, system account and
 * fleet account config (`fleetJetStream: false` preloads the fleet account without JetStream). The data dir with the keys and the resolver store is removed on dispose.
 */
export async function startJwtBus(opts: { fleetJetStream?: boolean } = {}): Promise<JwtBus> {
  const dir: TempDir = tempDir("bus-auth");
  try {
    const keys = await loadBusKeys(dir.path);
    const now = nowSeconds();
    const config = natsResolverConfig({
      operatorJwt: operatorJwt(keys, now),
      systemAccount: keys.system.nkey,
      preload: {
        [keys.system.nkey]: systemAccountJwt(keys, now),
        [keys.fleet.nkey]:
          opts.fleetJetStream === false
            ? issueAccountJwt({
                operator: keys.operator,
                account: keys.fleet.nkey,
                name: TRUST_NAMES.fleet,
                jetstream: false,
                signingKeys: [keys.fleetSigning.nkey],
                revocations: {},
                nowSeconds: now,
              })
            : fleetAccountJwt(keys, { revocations: {}, nowSeconds: now }),
      },
      resolverDir: join(dir.path, "jwt"),
    });
    const nats = await startNatsServer({ extraConfig: config });
    const connectAs = (user: Pick<BusUser, "privateKey" | "jwt">, opts: NodeConnectionOptions) =>
      nats.connect({
        authenticator: nonceAuthenticator({ privateKey: user.privateKey, jwt: () => user.jwt }),
        ...opts,
      });
    const times = { nowSeconds: now, ttlSeconds: TTL };
    return {
      nats,
      keys,
      revocations: {},
      connectMixer: () =>
        connectAs(mixerFleetUser(keys, times), { name: "mixer", inboxPrefix: INBOX_PREFIXES.mixer }),
      connectSystem: () =>
        connectAs(mixerSystemUser(keys, times), { name: "mixer-system", inboxPrefix: INBOX_PREFIXES.mixer }),
      connectRack: (rack, opts = {}) =>
        connectAs(rack, { name: rack.name, inboxPrefix: rackInboxPrefix(rack.name), ...opts }),
      rack: (state, opts = {}) => {
        const privateKey = opts.privateKey ?? generateKeyPair().privateKey;
        const publicKey = publicKeyToBase64url(privateKey);
        const issued = issueUserJwt({
          signer: keys.fleetSigning,
          account: keys.fleet.nkey,
          publicKey,
          name: state.name,
          permissions: rackPermissions(state),
          ttlSeconds: TTL,
          nowSeconds: opts.issuedAt ?? nowSeconds(),
        });
        return {
          name: state.name,
          privateKey,
          publicKey,
          nkey: issued.user,
          jwt: issued.jwt,
        };
      },
      async [Symbol.asyncDispose]() {
        await nats.stop();
        await dir.remove();
      },
    };
  } catch (error) {
    await dir.remove();
    throw error;
  }
}

/** Every permission violation the server reports on a connection, as they come. */
export function violations(nc: NatsConnection): PermissionViolationError[] {
  const seen: PermissionViolationError[] = [];
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === "error" && status.error instanceof PermissionViolationError)
        seen.push(status.error);
    }
  })();
  return seen;
}
