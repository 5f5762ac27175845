import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { tempDir } from "@fluxrig/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { FLEET_ACCOUNT_JWT_FILE } from "./bus-auth/bus-credentials-jwt.js";
import type { AccountNats, UserNats } from "./bus-auth/claims.js";
import { BusAuthError } from "./bus-auth/errors.js";
import { decodeJwt } from "./bus-auth/jwt-codec.js";
import { BUS_KEY_DIR, BUS_KEY_FILES, loadBusKeys } from "./bus-auth/key-store.js";
import { fleetAccountJwt, revokeUser } from "./bus-auth/trust-chain.js";
import { BOOTSTRAP_TTL_SECONDS, natsConfigCommand } from "./nats-config-command.js";
import { MixerError } from "./runtime/errors.js";

const dirs: { remove(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => d.remove()));
});

function scratch(): string {
  const dir = tempDir("nats-config-cmd");
  dirs.push(dir);
  return dir.path;
}

const NOW = new Date("2026-12-06T12:00:00Z");
const NOW_S = Math.floor(NOW.getTime() / 1000);

/** The preloaded JWT for an account, read back from the rendered block. */
function preloaded(text: string, account: string): string {
  const line = text.split("\n").find((l) => l.trim().startsWith(`${account}:`));
  if (line === undefined) throw new Error(`no preload for ${account}`);
  return line.split(":")[1]!.trim();
}

describe("natsConfigCommand", () => {
  it("creates the keys once and renders a block for them, with a fresh fleet JWT until the Mixer stores one", async () => {
    const cwd = scratch();
    const first = await natsConfigCommand({ dataDir: "data", resolverDir: "jwt", cwd, now: NOW });
    expect(first.createdKeys).toEqual(Object.keys(BUS_KEY_FILES));
    expect(first.keyDir).toBe(join(cwd, "data", BUS_KEY_DIR));
    expect(first.fleetJwt).toBe("fresh");
    const keys = await loadBusKeys(join(cwd, "data"));
    expect(first.text).toContain(`system_account: ${keys.system.nkey}`);
    expect(first.text).toContain(`dir: ${JSON.stringify(join(cwd, "jwt"))}`);
    const fleet = decodeJwt<AccountNats>(preloaded(first.text, keys.fleet.nkey));
    expect(fleet.iss).toBe(keys.operator.nkey);
    expect(fleet.nats.revocations ?? {}).toEqual({});
    // No seed, no private key material in what is printed.
    expect(first.text).not.toMatch(/\bS[A-Z2-7]{57}\b|PRIVATE KEY/);

    const again = await natsConfigCommand({ dataDir: "data", resolverDir: "jwt", cwd, now: NOW });
    expect(again.createdKeys).toEqual([]);
    expect(again.text).toContain(`system_account: ${keys.system.nkey}`);
  });

  it("preloads the fleet JWT the Mixer last stored, revocations included", async () => {
    const cwd = scratch();
    const keys = await loadBusKeys(join(cwd, "data"));
    const revoked = "UAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const stored = fleetAccountJwt(keys, {
      revocations: revokeUser({}, { user: revoked, nowSeconds: NOW_S - 60 }),
      nowSeconds: NOW_S - 60,
    });
    await writeFile(join(keys.dir, FLEET_ACCOUNT_JWT_FILE), `${stored}\n`);
    const done = await natsConfigCommand({ dataDir: "data", resolverDir: "jwt", cwd, now: NOW });
    expect(done.fleetJwt).toBe("stored");
    expect(preloaded(done.text, keys.fleet.nkey)).toBe(stored);
  });

  it("refuses a stored fleet JWT that this operator did not sign, rather than preload a lock-out", async () => {
    const cwd = scratch();
    const keys = await loadBusKeys(join(cwd, "data"));
    const stranger = await loadBusKeys(join(cwd, "other"));
    const foreign = fleetAccountJwt(stranger, { revocations: {}, nowSeconds: NOW_S });
    await writeFile(join(keys.dir, FLEET_ACCOUNT_JWT_FILE), foreign);
    const run = natsConfigCommand({ dataDir: "data", resolverDir: "jwt", cwd, now: NOW });
    await expect(run).rejects.toThrow(/not this cluster's fleet account JWT/);
    await writeFile(join(keys.dir, FLEET_ACCOUNT_JWT_FILE), "garbage");
    await expect(natsConfigCommand({ dataDir: "data", resolverDir: "jwt", cwd, now: NOW })).rejects.toThrow(
      /is not a JWT/,
    );
  });

  it("writes the block and a 0600 bootstrap .creds good for a year, for the bootstrap user only", async () => {
    const cwd = scratch();
    const done = await natsConfigCommand({
      dataDir: "data",
      resolverDir: "jwt",
      out: "nats-auth.conf",
      bootstrapCreds: "bootstrap.creds",
      cwd,
      now: NOW,
    });
    expect(await readFile(join(cwd, "nats-auth.conf"), "utf8")).toBe(done.text);
    expect((await stat(join(cwd, "nats-auth.conf"))).mode & 0o777).toBe(0o644);
    const credsPath = join(cwd, "bootstrap.creds");
    expect((await stat(credsPath)).mode & 0o777).toBe(0o600);
    const creds = await readFile(credsPath, "utf8");
    const jwt = creds.split("\n")[1]!;
    const claims = decodeJwt<UserNats>(jwt);
    const keys = await loadBusKeys(join(cwd, "data"));
    expect(claims.sub).toBe(keys.bootstrap.nkey);
    expect(claims.iss).toBe(keys.fleetSigning.nkey);
    expect(claims.name).toBe("bootstrap");
    expect(claims.exp).toBe(NOW_S + BOOTSTRAP_TTL_SECONDS);
    expect(done.bootstrapExpiresAt?.getTime()).toBe((NOW_S + BOOTSTRAP_TTL_SECONDS) * 1000);
    expect(creds).toMatch(/-----BEGIN USER NKEY SEED-----\nSU[A-Z2-7]{56}\n/);
  });

  it("refuses an output path it cannot write before creating any key", async () => {
    const cwd = scratch();
    for (const bad of [
      { out: "missing/dir/nats.conf" },
      { bootstrapCreds: "missing/bootstrap.creds" },
      { out: "." },
      { out: "same", bootstrapCreds: "same" },
    ]) {
      const run = natsConfigCommand({ dataDir: "data", resolverDir: "jwt", cwd, now: NOW, ...bad });
      await expect(run).rejects.toBeInstanceOf(MixerError);
      await expect(run).rejects.toMatchObject({ code: "nats_config_unwritable" });
    }
    await expect(stat(join(cwd, "data"))).rejects.toMatchObject({ code: "ENOENT" });
    await mkdir(join(cwd, "ro"), { mode: 0o500 });
    const roRun = natsConfigCommand({ dataDir: "data", resolverDir: "jwt", cwd, now: NOW, out: "ro/x.conf" });
    // root ignores directory modes; the check is only meaningful for other users.
    if (process.getuid?.() !== 0) await expect(roRun).rejects.toThrow(/is not writable/);
    else await roRun;
  });

  it("refuses a data dir whose key file others can read, naming the chmod", async () => {
    const cwd = scratch();
    const keys = await loadBusKeys(join(cwd, "data"));
    const file = join(keys.dir, BUS_KEY_FILES.fleetSigning.file);
    await chmod(file, 0o644);
    const run = natsConfigCommand({ dataDir: "data", resolverDir: "jwt", cwd, now: NOW });
    await expect(run).rejects.toBeInstanceOf(BusAuthError);
    await expect(run).rejects.toThrow(`chmod 600 ${file}`);
  });
});
