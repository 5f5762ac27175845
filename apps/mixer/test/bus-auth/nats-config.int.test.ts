// `fluxrig-mixer nats-config` as an operator runs it: the real binary writes the block and the bootstrap .creds, a real
// nats-server starts with that block, and the bootstrap credential may send hellos and nothing else.
import { chmod, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { nonceAuthenticator } from "@fluxrig/passport";
import { attachLogsOnFailure, runBinary, startNatsServer, tempDir, waitFor } from "@fluxrig/testkit";
import { INBOX_PREFIXES, SUBJECTS } from "@fluxrig/wire";
import { credsAuthenticator } from "@nats-io/transport-node";
import { beforeEach, describe, expect, test } from "vitest";
import { BUS_KEY_FILES, loadBusKeys } from "../../src/bus-auth/key-store.js";
import { mixerFleetUser } from "../../src/bus-auth/service-users.js";
import { violations } from "./jwt-bus.js";

beforeEach(({ onTestFailed }) => attachLogsOnFailure(onTestFailed));

describe("fluxrig-mixer nats-config", () => {
  test("its block runs nats-server in JWT mode, and the bootstrap creds may say hello but not listen to heartbeats", async () => {
    await using dir = tempDir("nats-config-int");
    const dataDir = join(dir.path, "data");
    const credsPath = join(dir.path, "bootstrap.creds");
    const env = { FLUXRIG_MIXER_DATA_DIR: dataDir };
    // No API token in the environment: the command does not need one.
    const run = await runBinary(
      "fluxrig-mixer",
      ["nats-config", "--resolver-dir", join(dir.path, "jwt"), "--bootstrap-creds", credsPath],
      { env },
    );
    expect(run.stderr).toContain("created bus keys");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^operator: /m);
    expect((await stat(credsPath)).mode & 0o777).toBe(0o600);

    await using nats = await startNatsServer({ extraConfig: run.stdout });
    const keys = await loadBusKeys(dataDir);
    const me = mixerFleetUser(keys, { nowSeconds: Math.floor(Date.now() / 1000), ttlSeconds: 3600 });
    const mixer = await nats.connect({
      name: "mixer",
      authenticator: nonceAuthenticator({ privateKey: me.privateKey, jwt: () => me.jwt }),
      inboxPrefix: INBOX_PREFIXES.mixer,
    });
    mixer.subscribe(SUBJECTS.hello, {
      callback: (_err, msg) => {
        msg.respond(`seen ${msg.string()}`);
      },
    });
    await mixer.flush();

    const creds = new TextEncoder().encode(await readFile(credsPath, "utf8"));
    const rack = await nats.connect({
      name: "new-rack",
      authenticator: credsAuthenticator(creds),
      inboxPrefix: INBOX_PREFIXES.bootstrap,
    });
    const refused = violations(rack);
    const reply = await rack.request(SUBJECTS.hello, "hello from a new rack", { timeout: 5_000 });
    expect(reply.string()).toBe("seen hello from a new rack");

    const heard: string[] = [];
    rack.subscribe(SUBJECTS.heartbeatAll, {
      callback: (err, msg) => {
        if (err === null) heard.push(msg.subject);
      },
    });
    await waitFor(
      () => refused.find((v) => v.operation === "subscription" && v.subject === SUBJECTS.heartbeatAll),
      { message: "the heartbeat subscription refused by the server", timeoutMs: 5_000 },
    );
    expect(heard).toEqual([]);

    // Without the creds, nobody gets in.
    await expect(
      nats.connect({ name: "anonymous", maxReconnectAttempts: 0, timeout: 3_000 }),
    ).rejects.toThrow(/Authorization/i);
  });

  test("refuses a bad flag, a missing --resolver-dir and a key others can read, with exit codes to script on", async () => {
    await using dir = tempDir("nats-config-int");
    const env = { FLUXRIG_MIXER_DATA_DIR: join(dir.path, "data") };
    const bogus = await runBinary("fluxrig-mixer", ["nats-config", "--bogus"], { env });
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/Unknown option '--bogus'[\s\S]*Usage: fluxrig-mixer nats-config/);
    const missing = await runBinary("fluxrig-mixer", ["nats-config"], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--resolver-dir needs a path");
    const unwritable = await runBinary(
      "fluxrig-mixer",
      ["nats-config", "--resolver-dir", "jwt", "--out", join(dir.path, "nope", "x.conf")],
      { env },
    );
    expect(unwritable.code).toBe(1);
    expect(unwritable.stderr).toMatch(/--out .* does not exist/);

    const keys = await loadBusKeys(join(dir.path, "data"));
    const file = join(keys.dir, BUS_KEY_FILES.operator.file);
    await chmod(file, 0o640);
    const open = await runBinary("fluxrig-mixer", ["nats-config", "--resolver-dir", "jwt"], { env });
    expect(open.code).toBe(1);
    expect(open.stderr).toContain(`run: chmod 600 ${file}`);
    expect(open.stdout).toBe("");
  });
});
