// `fluxrig events --follow` and `fluxrig racks list --watch` as real processes against a real Mixer: they print an
// adopt and a reject as they happen, resume after the Mixer restarts without missing or repeating an event, and
// exit 0 on Ctrl-C.

import { MixerHarness, ScriptedRack, type SpawnedProcess, spawnBinary, TEST_TOKEN } from "@fluxrig/testkit";
import type { AuditEventView } from "@fluxrig/wire";
import { afterEach, expect, test } from "vitest";
import { ISOLATED_ENV } from "./support/fluxrig-cli.js";

const running: SpawnedProcess[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});

/** A long-running `fluxrig` against `h`, stopped after the test even if it fails. */
function spawnFluxrig(h: MixerHarness, args: string[]): SpawnedProcess {
  const proc = spawnBinary("fluxrig", {
    args,
    env: { ...ISOLATED_ENV, FLUXRIG_API_URL: h.apiUrl, FLUXRIG_API_TOKEN: TEST_TOKEN },
  });
  running.push(proc);
  return proc;
}

async function enroll(h: MixerHarness, name: string): Promise<void> {
  const rack = new ScriptedRack(await h.client(), name).listen();
  expect((await rack.hello()).status).toBe("pending");
}

async function change(h: MixerHarness, name: string, verb: "adopt" | "reject"): Promise<void> {
  expect((await h.api(`/api/v1/racks/${name}/${verb}`, { method: "POST" })).status).toBe(200);
}

async function auditLog(h: MixerHarness): Promise<AuditEventView[]> {
  const res = await h.api<{ items: AuditEventView[] }>("/api/v1/events?limit=1000");
  expect(res.status).toBe(200);
  return res.body.items;
}

/** The JSON lines a process printed on stdout. */
function jsonLines<T>(proc: SpawnedProcess): T[] {
  return proc.lines({ stream: "stdout" }).map((l) => JSON.parse(l) as T);
}

test("events --follow --json: every event once, in order, across a Mixer restart; Ctrl-C exits 0", async () => {
  await using h = await MixerHarness.create();
  const follow = spawnFluxrig(h, ["events", "--follow", "--after", "0", "--json"]);
  await enroll(h, "rack-a");
  await change(h, "rack-a", "adopt");
  await enroll(h, "rack-b");
  await change(h, "rack-b", "reject");
  await follow.waitForLine(/"name":"rack-b".*"to_status":"rejected"/, { stream: "stdout" });

  await h.stop();
  await follow.waitForLine(/^event stream lost \(.*\); reconnecting after seq \d+$/, { stream: "stderr" });
  await h.start();
  // Written right after the restart, before or after the CLI is back: either way it must arrive, once.
  await enroll(h, "rack-c");
  await change(h, "rack-c", "adopt");
  await follow.waitForLine(/"name":"rack-c".*"to_status":"active"/, { stream: "stdout", timeoutMs: 20_000 });
  await follow.waitForLine(/^event stream: reconnected, resuming after seq \d+$/, { stream: "stderr" });

  const log = await auditLog(h);
  const printed = jsonLines<AuditEventView>(follow);
  expect(printed.map((e) => e.seq)).toEqual(log.map((e) => e.seq));
  expect(printed).toEqual(log);

  follow.kill("SIGINT");
  expect(await follow.waitForExit()).toEqual({ code: 0, signal: null });
});

test("events --follow: the table's line format, from now on, filtered by Rack", async () => {
  await using h = await MixerHarness.create();
  await enroll(h, "rack-a");
  await enroll(h, "rack-b");
  const follow = spawnFluxrig(h, ["events", "--follow", "--rack", "rack-b"]);
  await follow.waitForLine(/^ +SEQ +AT +RACK +EVENT +CAUSE +ACTOR +DETAILS$/, { stream: "stdout" });
  await change(h, "rack-a", "adopt");
  await change(h, "rack-b", "reject");
  const line = await follow.waitForLine(/rack-b +status_changed/, { stream: "stdout" });
  expect(line).toMatch(
    /^ +\d+ +\d{4}-\d\d-\d\dT\S+Z \(.*\) +rack-b +status_changed pending -> rejected +operator +api$/,
  );
  // The same commit revoked its bus key (SPEC §11): that event follows.
  const revoked = await follow.waitForLine(/rack-b +bus_key_revoked/, { stream: "stdout" });
  // Nothing from before the start, nothing of rack-a.
  expect(follow.lines({ stream: "stdout" }).slice(1)).toEqual([line, revoked]);
  follow.kill("SIGINT");
  expect(await follow.waitForExit()).toEqual({ code: 0, signal: null });
});

test("racks list --watch: the list, then a line per change; --json the page then events; Ctrl-C exits 0", async () => {
  await using h = await MixerHarness.create();
  await enroll(h, "rack-a");
  const watch = spawnFluxrig(h, ["racks", "list", "--watch"]);
  const watchJson = spawnFluxrig(h, ["racks", "list", "--watch", "--json"]);
  await watch.waitForLine(/^rack-a +pending /, { stream: "stdout" });
  await watchJson.waitForLine(/^\{"items":/, { stream: "stdout" });

  await change(h, "rack-a", "adopt");
  await enroll(h, "rack-b");
  await change(h, "rack-b", "reject");
  await watch.waitForLine(/rack-b +rejected +pending -> rejected, operator by api$/, {
    stream: "stdout",
  });
  const lines = watch.lines({ stream: "stdout" });
  expect(lines[0]).toMatch(/^NAME +STATUS /);
  expect(lines.slice(2).map((l) => l.replace(/^\S+Z {2}/, "").replace(/ +/g, " "))).toEqual([
    "rack-a active pending -> active, operator by api",
    "rack-b pending enrolled, enrollment by rack",
    "rack-b rejected pending -> rejected, operator by api",
  ]);

  await watchJson.waitForLine(/"name":"rack-b".*"to_status":"rejected"/, { stream: "stdout" });
  const [page, ...changes] = jsonLines<Record<string, unknown>>(watchJson);
  expect(page).toMatchObject({ items: [{ name: "rack-a", status: "pending" }], next: null });
  expect(changes.map((e) => [e.name, e.kind, e.to_status])).toEqual([
    ["rack-a", "status_changed", "active"],
    ["rack-b", "rack_enrolled", "pending"],
    ["rack-b", "status_changed", "rejected"],
  ]);

  for (const p of [watch, watchJson]) {
    p.kill("SIGINT");
    expect(await p.waitForExit()).toEqual({ code: 0, signal: null });
  }
});

test("a refusal ends a follow at once with its exit code; an unreachable Mixer is retried", async () => {
  await using h = await MixerHarness.create();
  const unknown = spawnFluxrig(h, ["events", "--follow", "--rack", "rack-zz"]);
  expect((await unknown.waitForExit()).code).toBe(1);
  expect(unknown.lines({ stream: "stderr" }).join("\n")).toMatch(/\(not_found\)/);

  const badToken = spawnBinary("fluxrig", {
    args: ["events", "--follow"],
    env: { ...ISOLATED_ENV, FLUXRIG_API_URL: h.apiUrl, FLUXRIG_API_TOKEN: "wrong" },
  });
  running.push(badToken);
  expect((await badToken.waitForExit()).code).toBe(4);

  await h.stop();
  const waiting = spawnFluxrig(h, ["racks", "list", "--watch"]);
  await waiting.waitForLine(/^event stream lost \(cannot reach the Mixer/, { stream: "stderr" });
  await h.start();
  await enroll(h, "rack-late");
  await waiting.waitForLine(/^rack-late +pending /, { stream: "stdout", timeoutMs: 20_000 });
  waiting.kill("SIGINT");
  expect(await waiting.waitForExit()).toEqual({ code: 0, signal: null });
});
