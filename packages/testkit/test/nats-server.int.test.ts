// A real nats-server per test: it serves clients, runs JetStream, restarts in place, and never outlives its test.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { connect as rawConnect } from "node:net";
import { join } from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import {
  killAllStarted,
  NatsServerStartError,
  repoRoot,
  spawnScript,
  startedResources,
  startNatsServer,
  tempDir,
  waitFor,
} from "../src/index.js";

afterAll(killAllStarted);

describe("startNatsServer", () => {
  it("starts on a free port and serves publish, subscribe and request", async () => {
    await using nats = await startNatsServer();
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    expect(isAlive(nats.pid!)).toBe(true);
    expect(await nats.waitForLog(/Server is ready/)).toContain("Server is ready");
    const nc = await nats.connect();

    const sub = nc.subscribe("greet.>", { max: 1 });
    const got = (async () => {
      for await (const m of sub) return `${m.subject} ${m.string()}`;
    })();
    nc.publish("greet.rack-1", "hello");
    expect(await got).toBe("greet.rack-1 hello");

    nc.subscribe("echo", { callback: (_err, m) => void m.respond(`echo: ${m.string()}`) });
    const reply = await nc.request("echo", "ping", { timeout: 5_000 });
    expect(reply.string()).toBe("echo: ping");
  });

  it("runs JetStream with its store in the server's own dir", async () => {
    await using nats = await startNatsServer({ monitor: true });
    const jsz = await nats.monitor<{ config: { store_dir: string }; disabled?: boolean }>("jsz");
    expect(jsz.disabled).not.toBe(true);
    expect(jsz.config.store_dir.startsWith(nats.storeDir)).toBe(true);
    expect(nats.log()).toContain("Starting JetStream");
    // The JetStream API answers a plain client too.
    const nc = await nats.connect();
    const info = JSON.parse((await nc.request("$JS.API.INFO", "", { timeout: 5_000 })).string());
    expect(info.type).toBe("io.nats.jetstream.api.v1.account_info_response");
  });

  it("leaves JetStream off when asked, and applies max_payload, debug and extra config", async () => {
    await using nats = await startNatsServer({
      jetstream: false,
      maxPayload: 4096,
      debug: true,
      extraConfig: "max_connections: 5",
    });
    expect(nats.log()).not.toContain("Starting JetStream");
    expect(nats.log()).toContain("[DBG]");
    const nc = await nats.connect();
    expect(nc.info?.max_payload).toBe(4096);
    expect(nc.info?.jetstream ?? false).toBe(false);
  });

  it("runs two servers at once on different ports, each with its own traffic", async () => {
    await using a = await startNatsServer();
    await using b = await startNatsServer();
    expect(a.port).not.toBe(b.port);
    expect(a.storeDir).not.toBe(b.storeDir);
    const [ncA, ncB] = await Promise.all([a.connect(), b.connect()]);
    const onB = ncB.subscribe("only.here");
    ncA.publish("only.here", "from a");
    await ncA.flush();
    await ncB.flush();
    expect(onB.getReceived()).toBe(0);
  });

  it("dispose kills the process and deletes its files", async () => {
    let pid = 0;
    let dir = "";
    let nc: NatsConnection | undefined;
    {
      await using nats = await startNatsServer();
      pid = nats.pid!;
      dir = nats.dir;
      nc = await nats.connect();
      expect(existsSync(nats.storeDir)).toBe(true);
      expect(existsSync(nats.configPath)).toBe(true);
    }
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(nc.isClosed()).toBe(true);
  });

  it("restart keeps the port and store, and a client reconnects", async () => {
    await using nats = await startNatsServer();
    const { port, storeDir } = nats;
    const firstPid = nats.pid;
    const nc = await nats.connect();
    const reconnected = waitForStatus(nc, "reconnect");
    nc.subscribe("svc", { callback: (_err, m) => void m.respond("up") });

    await nats.restart();
    expect(nats.port).toBe(port);
    expect(nats.storeDir).toBe(storeDir);
    expect(nats.pid).not.toBe(firstPid);
    await reconnected;
    // The subscription is replayed on reconnect, so the service answers again.
    const reply = await waitFor(() => nc.request("svc", "", { timeout: 1_000 }), { timeoutMs: 10_000 });
    expect(reply.string()).toBe("up");
  });

  it("stopForNow takes the bus down until start() brings it back on the same port", async () => {
    await using nats = await startNatsServer();
    const nc = await nats.connect();
    const disconnected = waitForStatus(nc, "disconnect");
    await nats.stopForNow({ signal: "SIGKILL" });
    expect(nats.running).toBe(false);
    expect(nats.pid).toBeUndefined();
    await disconnected;
    expect(await canConnect(nats.port)).toBe(false);

    const reconnected = waitForStatus(nc, "reconnect");
    await nats.start();
    await reconnected;
    expect(await canConnect(nats.port)).toBe(true);
    expect(nats.log()).toContain("taking down with SIGKILL");
  });

  it("rejects with the server's log when the config is invalid, and cleans up", async () => {
    const before = new Set(startedResources());
    const error = await startNatsServer({ extraConfig: "port: [[ not valid" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NatsServerStartError);
    const failed = error as NatsServerStartError;
    expect(failed.fields.reason).toBe("exited");
    expect(failed.fields.exitCode).toBe(1);
    expect(failed.fields.log).toMatch(/Parse error/i);
    expect(failed.message).toMatch(/exited before it was ready/);
    expect(existsSync(failed.fields.configPath)).toBe(false);
    expect(startedResources().filter((r) => !before.has(r))).toEqual([]);
  });

  it("times out with the log when the server never becomes ready", async () => {
    await using dir = tempDir("fake-nats");
    const fake = join(dir.path, "fake-nats-server");
    writeFileSync(fake, '#!/bin/sh\necho "pretending to start"\nexec sleep 60\n', { mode: 0o755 });
    const error = await startNatsServer({ bin: fake, startTimeoutMs: 500 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NatsServerStartError);
    expect((error as NatsServerStartError).fields.reason).toBe("timeout");
    expect((error as NatsServerStartError).message).toContain("pretending to start");
  });

  it("says how to fix a missing binary", async () => {
    const error = await startNatsServer({ bin: "/nonexistent/nats-server" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NatsServerStartError);
    expect((error as NatsServerStartError).fields.reason).toBe("spawn-failed");
    expect((error as NatsServerStartError).message).toContain("NATS_SERVER_BIN");
  });
});

describe("cleanup when a test forgets", () => {
  it("killAllStarted stops forgotten servers", async () => {
    const nats = await startNatsServer();
    const pid = nats.pid!;
    expect(await killAllStarted()).toBeGreaterThanOrEqual(1);
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(nats.dir)).toBe(false);
  });

  it("the exit hook kills servers of a process that dies without stopping them", async () => {
    const testkit = join(repoRoot(), "packages/testkit/src/index.ts");
    await using dir = tempDir("exit-hook");
    const crasher = join(dir.path, "crasher.mjs");
    writeFileSync(
      crasher,
      `import { startNatsServer } from ${JSON.stringify(testkit)};
       const nats = await startNatsServer();
       console.log(JSON.stringify({ pid: nats.pid, dir: nats.dir }));
       if (process.argv[2] === "throw") setTimeout(() => { throw new Error("crash"); }, 10);
       else setInterval(() => {}, 1000);`,
    );
    // tsx loads the TypeScript sources, as vitest does.
    const run = async (mode: "throw" | "sigterm") => {
      await using proc = spawnScript(crasher, {
        args: [mode],
        nodeArgs: ["--import", "tsx"],
        cwd: repoRoot(),
      });
      const started = await proc.waitForJson<{ pid: number; dir: string }>({}, { timeoutMs: 20_000 });
      if (mode === "sigterm") proc.kill("SIGTERM");
      const status = await proc.waitForExit({ timeoutMs: 20_000 });
      return { ...started, status };
    };
    const thrown = await run("throw");
    expect(thrown.status.code).toBe(1);
    const termed = await run("sigterm");
    expect(termed.status.signal).toBe("SIGTERM");
    for (const { pid, dir: serverDir } of [thrown, termed]) {
      // The killed server is reparented and reaped by init, which can take a moment.
      await waitFor(() => !isAlive(pid), { timeoutMs: 10_000, message: `nats-server ${pid} to be gone` });
      expect(existsSync(serverDir)).toBe(false);
    }
  });
});

/** Whether `pid` is a live process; a zombie (killed, not yet reaped) counts as gone. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/<pid>/stat is "pid (comm) S ..."; the state letter follows the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}

/** Resolves at the client's next status event of `type`. */
async function waitForStatus(nc: NatsConnection, type: "disconnect" | "reconnect"): Promise<void> {
  for await (const status of nc.status()) if (status.type === type) return;
}

/** Whether a TCP connect to the port succeeds right now. */
function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = rawConnect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
