// `fluxrig-mixer nats-config`: creates the bus keys if missing, renders nats-server's JWT-mode config block for them
// and writes the shared bootstrap .creds. Wiring only: every rule lives in bus-auth/ (SPEC §11, docs/bus-auth.md).

import { constants } from "node:fs";
import { access, readFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { writeFileAtomic } from "@fluxrig/passport";
import { FLEET_ACCOUNT_JWT_FILE } from "./bus-auth/bus-credentials-jwt.js";
import type { AccountNats } from "./bus-auth/claims.js";
import { BusAuthError } from "./bus-auth/errors.js";
import { decodeJwt } from "./bus-auth/jwt-codec.js";
import { type BusKeyName, type BusKeys, loadBusKeys } from "./bus-auth/key-store.js";
import { natsResolverConfig } from "./bus-auth/resolver-config.js";
import { bootstrapUser, credsFileText } from "./bus-auth/service-users.js";
import { fleetAccountJwt, operatorJwt, systemAccountJwt } from "./bus-auth/trust-chain.js";
import { MixerError } from "./runtime/errors.js";

/** How long the bootstrap user's JWT lives: a year. Re-running nats-config issues a fresh one for the same key. */
export const BOOTSTRAP_TTL_SECONDS = 365 * 86_400;

/** What the command was asked to do; paths as the operator typed them (resolved against `cwd`). */
export interface NatsConfigCommandInput {
  dataDir: string;
  resolverDir: string;
  /** Where to write the config block; absent: the caller prints `text`. */
  out?: string | undefined;
  /** Where to write the bootstrap .creds (0600); absent: not written. */
  bootstrapCreds?: string | undefined;
  cwd: string;
  now: Date;
}

/** What it did, for the caller to report. */
export interface NatsConfigCommandResult {
  text: string;
  keyDir: string;
  createdKeys: BusKeyName[];
  /** `stored`: the fleet JWT the Mixer last pushed; `fresh`: none yet, issued now with no revocations. */
  fleetJwt: "stored" | "fresh";
  outPath?: string;
  bootstrapCredsPath?: string;
  bootstrapExpiresAt?: Date;
}

/**
 * Runs the command: checks the output paths first (so a bad path creates no key), loads or creates the bus keys,
 * renders the config with the current fleet JWT, and writes the files asked for. Throws MixerError
 * (`nats_config_unwritable`, `nats_config_bad_fleet_jwt`) or BusAuthError (`key-store`: a key file others can read).
 *
 * @example
 * const r = await natsConfigCommand({ dataDir: "./data", resolverDir: "/var/lib/nats/jwt", cwd, now: new Date() });
 * process.stdout.write(r.text);
 */
export async function natsConfigCommand(input: NatsConfigCommandInput): Promise<NatsConfigCommandResult> {
  const outPath = input.out === undefined ? undefined : resolve(input.cwd, input.out);
  const credsPath = input.bootstrapCreds === undefined ? undefined : resolve(input.cwd, input.bootstrapCreds);
  if (outPath !== undefined) await requireWritableFile(outPath, "--out");
  if (credsPath !== undefined) await requireWritableFile(credsPath, "--bootstrap-creds");
  if (outPath !== undefined && outPath === credsPath) {
    throw new MixerError("nats_config_unwritable", "--out and --bootstrap-creds name the same file");
  }

  const dataDir = resolve(input.cwd, input.dataDir);
  const keys = await loadBusKeys(dataDir);
  const nowSeconds = Math.floor(input.now.getTime() / 1000);
  const stored = await storedFleetJwt(keys);
  const text = natsResolverConfig({
    operatorJwt: operatorJwt(keys, nowSeconds),
    systemAccount: keys.system.nkey,
    preload: {
      [keys.system.nkey]: systemAccountJwt(keys, nowSeconds),
      [keys.fleet.nkey]: stored ?? fleetAccountJwt(keys, { revocations: {}, nowSeconds }),
    },
    resolverDir: resolve(input.cwd, input.resolverDir),
  });

  const result: NatsConfigCommandResult = {
    text,
    keyDir: keys.dir,
    createdKeys: keys.created,
    fleetJwt: stored === undefined ? "fresh" : "stored",
  };
  if (credsPath !== undefined) {
    const user = bootstrapUser(keys, { nowSeconds, ttlSeconds: BOOTSTRAP_TTL_SECONDS });
    await write(credsPath, credsFileText(user), 0o600, "--bootstrap-creds");
    result.bootstrapCredsPath = credsPath;
    result.bootstrapExpiresAt = new Date(user.expiresAt * 1000);
  }
  if (outPath !== undefined) {
    // Public JWTs and nkeys only: nats-server may run as another user and must read it.
    await write(outPath, text, 0o644, "--out");
    result.outPath = outPath;
  }
  return result;
}

/**
 * The fleet JWT the Mixer last wrote, checked like a push: signed by this operator and naming this fleet account.
 * Any other JWT in the preload would lock the account out, so it is refused, never silently replaced.
 */
async function storedFleetJwt(keys: BusKeys): Promise<string | undefined> {
  const path = join(keys.dir, FLEET_ACCOUNT_JWT_FILE);
  let jwt: string;
  try {
    jwt = (await readFile(path, "utf8")).trim();
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new MixerError("nats_config_bad_fleet_jwt", `${path} cannot be read: ${(cause as Error).message}`, {
      cause,
    });
  }
  let claims: ReturnType<typeof decodeJwt<AccountNats>>;
  try {
    claims = decodeJwt<AccountNats>(jwt);
  } catch (cause) {
    const why = cause instanceof BusAuthError ? cause.message : String(cause);
    throw new MixerError(
      "nats_config_bad_fleet_jwt",
      `${path} is not a JWT: ${why}; remove it to start over`,
      {
        cause,
      },
    );
  }
  if (
    claims.iss !== keys.operator.nkey ||
    claims.sub !== keys.fleet.nkey ||
    claims.nats?.type !== "account"
  ) {
    throw new MixerError(
      "nats_config_bad_fleet_jwt",
      `${path} is not this cluster's fleet account JWT (issuer ${claims.iss}, subject ${claims.sub}); ` +
        "the keys in this data dir did not write it",
    );
  }
  return jwt;
}

/** The file may be created or replaced: its folder exists and is writable, and it is not a folder itself. */
async function requireWritableFile(path: string, flag: string): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new MixerError("nats_config_unwritable", `${flag} ${path} is a directory; name a file`);
  }
  try {
    await access(dirname(path), constants.W_OK | constants.X_OK);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "does not exist" : "is not writable";
    throw new MixerError("nats_config_unwritable", `${flag} ${path}: folder ${dirname(path)} ${why}`, {
      cause,
    });
  }
}

async function write(path: string, data: string, mode: number, flag: string): Promise<void> {
  try {
    await writeFileAtomic({ path, data, mode });
  } catch (cause) {
    throw new MixerError("nats_config_unwritable", `${flag} ${path}: ${(cause as Error).message}`, { cause });
  }
}
