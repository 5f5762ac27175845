// Spawned Node scripts: captured JSON lines, waits that end early on exit, exit codes, kill9, stop escalating to SIGKILL.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  killAllStarted,
  ProcessExitedError,
  ProcessTimeoutError,
  runScript,
  spawnScript,
  type TempDir,
  tempDir,
} from "../src/index.js";

let dir: TempDir;
const script = (name: string, source: string): string => {
  const path = join(dir.path, name);
  writeFileSync(path, source);
  return path;
};

// A fresh dir per test: the killAllStarted test removes whatever is registered, temp dirs included.
beforeEach(() => {
  dir = tempDir("child-process-test");
});
afterEach(() => dir.remove());
afterAll(killAllStarted);

/** Prints pino-style JSON lines and one plain line, then waits for SIGTERM or exits with argv[2]. */
const LOGGER = `
process.on("SIGTERM", () => { log("got SIGTERM"); process.exit(0); });
const log = (msg, extra = {}) => console.log(JSON.stringify({ level: 30, time: Date.now(), msg, ...extra }));
log("starting", { pid: process.pid });
console.log("plain text line");
console.error("a warning on stderr");
setTimeout(() => log("ready", { port: 1234 }), 50);
const code = process.argv[2];
if (code !== undefined) setTimeout(() => { log("bye"); process.exit(Number(code)); }, 100);
else setInterval(() => {}, 1000);
`;

describe("spawnScript", () => {
  it("captures lines and JSON entries and waits for them", async () => {
    await using proc = spawnScript(script("logger.mjs", LOGGER));
    expect(proc.pid).toBeGreaterThan(0);
    const ready = await proc.waitForJson<{ msg: string; port: number }>(
      { msg: "ready" },
      { timeoutMs: 10_000 },
    );
    expect(ready.port).toBe(1234);
    expect(await proc.waitForLine(/^plain text/)).toBe("plain text line");
    expect(await proc.waitForLine((line) => line.includes("warning"), { stream: "stderr" })).toContain(
      "warning",
    );
    expect(proc.lines()).toContain("plain text line");
    expect(proc.lines({ stream: "stdout" })).not.toContain("a warning on stderr");
    expect(proc.json().map((e) => e.msg)).toEqual(["starting", "ready"]);
    expect(proc.output()).toContain("[err] a warning on stderr");
    expect(proc.running).toBe(true);
  });

  it("waits only for lines after a mark when asked", async () => {
    await using proc = spawnScript(
      script("ticker.mjs", `let n = 0; setInterval(() => console.log("tick " + n++), 20);`),
    );
    await proc.waitForLine(/tick 2/);
    const mark = proc.mark();
    const next = await proc.waitForLine(/tick/, { since: mark });
    expect(Number(next.split(" ")[1])).toBeGreaterThanOrEqual(3);
  });

  it("reports exit codes", async () => {
    const ok = spawnScript(script("ok.mjs", LOGGER), { args: ["0"] });
    const failing = spawnScript(script("fail.mjs", LOGGER), { args: ["3"] });
    expect(await ok.waitForExit({ timeoutMs: 10_000 })).toEqual({ code: 0, signal: null });
    expect(await failing.waitForExit({ timeoutMs: 10_000 })).toEqual({ code: 3, signal: null });
    expect(failing.json().at(-1)?.msg).toBe("bye");
    expect(failing.running).toBe(false);
    await Promise.all([ok.stop(), failing.stop()]);
  });

  it("rejects a wait early, with the output, when the process exits first", async () => {
    await using proc = spawnScript(
      script("early.mjs", `console.log("boom: config missing"); process.exit(2);`),
    );
    const started = Date.now();
    const error = await proc.waitForLine(/never printed/, { timeoutMs: 30_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProcessExitedError);
    const exited = error as ProcessExitedError;
    expect(exited.fields.code).toBe(2);
    expect(exited.message).toContain("boom: config missing");
    expect(exited.message).toContain("exited before printing a line matching /never printed/");
    // Generous: only proves it did not sit out the 30 s deadline.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("times out a wait with the output so far", async () => {
    await using proc = spawnScript(script("quiet.mjs", `console.log("hello"); setInterval(() => {}, 1000);`));
    const error = await proc.waitForJson({ msg: "never" }, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProcessTimeoutError);
    expect((error as ProcessTimeoutError).message).toMatch(/none within 300 ms/);
  });

  it("waitForExit times out with the output so far while the process runs on", async () => {
    await using proc = spawnScript(
      script("hang.mjs", `console.log("hanging"); setInterval(() => {}, 1000);`),
    );
    await proc.waitForLine(/hanging/);
    const error = await proc.waitForExit({ timeoutMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProcessTimeoutError);
    expect((error as ProcessTimeoutError).fields.output).toContain("hanging");
    expect(proc.running).toBe(true);
  });

  it("kill9 ends the process with SIGKILL", async () => {
    await using proc = spawnScript(script("kill9.mjs", LOGGER));
    await proc.waitForJson({ msg: "starting" });
    expect(proc.kill9()).toBe(true);
    expect(await proc.waitForExit()).toEqual({ code: null, signal: "SIGKILL" });
    expect(proc.kill9()).toBe(false);
  });

  it("stop() sends SIGTERM and lets a well-behaved process exit", async () => {
    const proc = spawnScript(script("term.mjs", LOGGER));
    await proc.waitForJson({ msg: "starting" });
    expect(await proc.stop()).toEqual({ code: 0, signal: null });
    expect(proc.json().some((e) => e.msg === "got SIGTERM")).toBe(true);
  });

  it("stop() escalates to SIGKILL when SIGTERM is ignored", async () => {
    const stubborn = `process.on("SIGTERM", () => console.log("ignoring SIGTERM")); console.log("up");
      setInterval(() => {}, 1000);`;
    const proc = spawnScript(script("stubborn.mjs", stubborn), { stopGraceMs: 300 });
    await proc.waitForLine(/^up$/);
    const pid = proc.pid!;
    const status = await proc.stop();
    expect(status).toEqual({ code: null, signal: "SIGKILL" });
    expect(proc.lines()).toContain("ignoring SIGTERM");
    expect(proc.output()).toContain("SIGKILL");
    expect(isAlive(pid)).toBe(false);
  });

  it("await using stops the process", async () => {
    let pid = 0;
    {
      await using proc = spawnScript(script("disposed.mjs", LOGGER));
      await proc.waitForJson({ msg: "starting" });
      pid = proc.pid!;
      expect(isAlive(pid)).toBe(true);
    }
    expect(isAlive(pid)).toBe(false);
  });

  it("killAllStarted stops what a test forgot", async () => {
    const forgotten = spawnScript(script("forgotten.mjs", LOGGER));
    await forgotten.waitForJson({ msg: "starting" });
    expect(await killAllStarted()).toBeGreaterThanOrEqual(1);
    expect(forgotten.running).toBe(false);
  });
});

describe("runScript", () => {
  it("returns code, full stdout and stderr, and feeds input", async () => {
    const echo = script(
      "echo.mjs",
      `let input = ""; process.stdin.on("data", (d) => (input += d));
       process.stdin.on("end", () => { console.log(JSON.stringify({ args: process.argv.slice(2), input }));
         console.error("done"); process.exitCode = 4; });`,
    );
    const result = await runScript(echo, ["a", "b c"], { input: "hello" });
    expect(result.code).toBe(4);
    expect(JSON.parse(result.stdout)).toEqual({ args: ["a", "b c"], input: "hello" });
    expect(result.stderr).toBe("done\n");
  });

  it("rejects with a timeout and kills a run that does not finish", async () => {
    const pidFile = join(dir.path, "hang.pid");
    const hang = script(
      "hang.mjs",
      `import { existsSync, readFileSync, writeFileSync } from "node:fs"; writeFileSync(${JSON.stringify(pidFile)}, String(process.pid));
       setInterval(() => {}, 1000);`,
    );
    const error = await runScript(hang, [], { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProcessTimeoutError);
    expect((error as ProcessTimeoutError).message).toMatch(/hang\.mjs did not exit within 300 ms/);
    // Under load it may time out before node even ran the script; if it did run, it must be dead now.
    if (existsSync(pidFile)) expect(isAlive(Number(readFileSync(pidFile, "utf8")))).toBe(false);
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
