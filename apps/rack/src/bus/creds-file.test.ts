// The bootstrap .creds file: a secret like the Rack's key, refused when others can read it, or when it is not creds.
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { loadBusKeys } from "../../../mixer/src/bus-auth/key-store.js";
import { bootstrapUser, credsFileText } from "../../../mixer/src/bus-auth/service-users.js";
import { RackCredsError } from "../rack-error.js";
import { loadCredsFile } from "./creds-file.js";

describe("loadCredsFile", () => {
  let dir: string;
  let text: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "creds-"));
    const keys = await loadBusKeys(join(dir, "mixer"));
    text = credsFileText(
      bootstrapUser(keys, { nowSeconds: Math.floor(Date.now() / 1000), ttlSeconds: 3600 }),
    );
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("reads the file the Mixer writes (0600)", async () => {
    const path = join(dir, "bootstrap.creds");
    await writeFile(path, text, { mode: 0o600 });
    expect(new TextDecoder().decode(await loadCredsFile(path))).toBe(text);
  });

  test("refuses a file group or others can read, with the chmod to run", async () => {
    const path = join(dir, "bootstrap.creds");
    await writeFile(path, text, { mode: 0o600 });
    await chmod(path, 0o640);
    const error = await loadCredsFile(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RackCredsError);
    expect((error as Error).message).toContain(`mode 0640`);
    expect((error as Error).message).toContain(`chmod 600 ${path}`);
  });

  test("refuses a missing file and one that is not NATS user credentials", async () => {
    await expect(loadCredsFile(join(dir, "nope.creds"))).rejects.toThrow(/no such file.*\[nats\] creds/);
    const path = join(dir, "bad.creds");
    await writeFile(path, "hello\n", { mode: 0o600 });
    await expect(loadCredsFile(path)).rejects.toThrow(/not a NATS user credentials file/);
  });
});
