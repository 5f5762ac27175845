// The Mixer's bus keys in its data dir: operator, system account, fleet account, the fleet's signing key and the
// bootstrap user, created on first start (0600, PKCS#8, atomically) and loaded on every later start. Never logged.
import { join } from "node:path";
import type { NkeyRole } from "@fluxrig/passport";
import {
  type Ed25519KeyPair,
  loadOrCreateKeyPair,
  PassportKeyError,
  PassportKeyPermissionError,
} from "@fluxrig/passport";
import { BusAuthError } from "./errors.js";
import { type JwtSigner, jwtSigner } from "./jwt-codec.js";

/** The folder under the data dir that holds the bus keys. */
export const BUS_KEY_DIR = "bus";

/** Each key, its file and its nkey role. */
export const BUS_KEY_FILES = {
  operator: { file: "operator.key", role: "operator" },
  system: { file: "system-account.key", role: "account" },
  fleet: { file: "fleet-account.key", role: "account" },
  fleetSigning: { file: "fleet-signing.key", role: "account" },
  bootstrap: { file: "bootstrap-user.key", role: "user" },
} as const satisfies Record<string, { file: string; role: NkeyRole }>;

export type BusKeyName = keyof typeof BUS_KEY_FILES;

/**
 * The loaded keys as signers (public nkey plus node:crypto private key). A KeyObject prints and serialises without
 * its secret, so logging this object by mistake leaks nothing; `created` lists keys made by this call.
 */
export type BusKeys = Record<BusKeyName, JwtSigner> & { dir: string; created: BusKeyName[] };

/**
 * Loads the bus keys from `<dataDir>/bus/`, creating any that are missing. A key file readable by others is
 * refused (BusAuthError "key-store" naming the chmod to run), as for the Cluster Key.
 *
 * @example
 * const keys = await loadBusKeys(config.mixer.data_dir);
 * issueOperatorJwt({ operator: keys.operator, name: "fluxrig", systemAccount: keys.system.nkey, nowSeconds });
 */
export async function loadBusKeys(dataDir: string): Promise<BusKeys> {
  const dir = join(dataDir, BUS_KEY_DIR);
  const created: BusKeyName[] = [];
  const entries: [BusKeyName, JwtSigner][] = [];
  // One at a time: the first call creates the folder (0700), and a failure names the first bad file.
  for (const name of Object.keys(BUS_KEY_FILES) as BusKeyName[]) {
    const { file, role } = BUS_KEY_FILES[name];
    const pair = await loadOne(join(dir, file));
    if (pair.created) created.push(name);
    entries.push([name, jwtSigner(pair.keys.privateKey, role)]);
  }
  return { ...(Object.fromEntries(entries) as Record<BusKeyName, JwtSigner>), dir, created };
}

async function loadOne(path: string): Promise<{ keys: Ed25519KeyPair; created: boolean }> {
  try {
    return await loadOrCreateKeyPair(path);
  } catch (cause) {
    if (cause instanceof PassportKeyPermissionError) {
      const mode = cause.mode.toString(8);
      throw new BusAuthError(
        "key-store",
        `${path} is readable by others (mode ${mode}); run: chmod 600 ${path}`,
        {
          cause,
        },
      );
    }
    const detail = cause instanceof PassportKeyError ? cause.message : String(cause);
    throw new BusAuthError("key-store", `bus key ${path} cannot be used: ${detail}`, { cause });
  }
}
