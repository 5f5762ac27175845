// The idle Mixer's memory: starts the built fluxrig-mixer against a nats-server (no Rack), waits, and splits its RSS
// by mapping (smaps): node's code, libduckdb's, V8's heap and the other anonymous memory. Runs several starts,
// optionally with node flags, and prints one JSON line per start.
//   pnpm exec tsx --conditions=@fluxrig/source bench/swarm/mixer-idle.ts [--runs 3] [--settle-ms 3000] [--node-arg=--enable-source-maps]
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { MixerUnderTest } from "./mixer-under-test.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "3" },
    "settle-ms": { type: "string", default: "3000" },
    "node-arg": { type: "string", multiple: true, default: [] },
    env: { type: "string", multiple: true, default: [] },
  },
});

/** RSS in MB by mapping: the node binary, libduckdb, other files, and anonymous memory. */
function smapsSplit(pid: number): Record<string, number> {
  const text = readFileSync(`/proc/${pid}/smaps`, "utf8");
  const out: Record<string, number> = { node: 0, duckdb: 0, other_files: 0, anon: 0 };
  let key = "anon";
  for (const line of text.split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[1] ?? "";
      key = name.endsWith("/node")
        ? "node"
        : name.includes("libduckdb") || name.includes("duckdb.node")
          ? "duckdb"
          : name.startsWith("/")
            ? "other_files"
            : "anon";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[key] = (out[key] ?? 0) + Number(rss[1]) / 1024;
  }
  for (const k of Object.keys(out)) out[k] = Math.round((out[k] ?? 0) * 10) / 10;
  return out;
}

const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;
/** V8's spaces (committed/used MB), printed by the Mixer once a second beside the memory probe. */
const SPACES_PROBE =
  "--import=data:text/javascript,import v8 from 'node:v8';setInterval(()=>process.stderr.write(JSON.stringify({spaces:Object.fromEntries(v8.getHeapSpaceStatistics().filter(s=>s.space_size>0).map(s=>[s.space_name.replace('_space',''),(s.space_size/1048576).toFixed(1)+'/'+(s.space_used_size/1048576).toFixed(1)]))})+String.fromCharCode(10)),1000).unref()";
for (let run = 0; run < Number(values.runs); run++) {
  const env: Record<string, string> = {};
  for (const kv of values.env) {
    const at = kv.indexOf("=");
    env[kv.slice(0, at)] = kv.slice(at + 1);
  }
  await using m = await MixerUnderTest.start({
    auth: "none",
    env,
    nodeArgs: [SPACES_PROBE, ...values["node-arg"]],
  });
  let spaces = "";
  m.mixer?.child.stderr?.on("data", (chunk: Buffer) => {
    const at = chunk.toString("utf8").lastIndexOf('{"spaces"');
    if (at >= 0) spaces = chunk.toString("utf8").slice(at).split("\n")[0] ?? "";
  });
  await sleep(Number(values["settle-ms"]));
  const pid = m.mixerPid;
  if (pid === undefined) throw new Error("the Mixer exited");
  const mem = m.memory;
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  console.log(
    JSON.stringify({
      run,
      rss: Math.round((rssKb / 1024) * 10) / 10,
      ...smapsSplit(pid),
      heapTotal: mem ? mb(mem.heapTotal) : null,
      heapUsed: mem ? mb(mem.heapUsed) : null,
      external: mem ? mb(mem.external) : null,
      spaces: spaces === "" ? null : (JSON.parse(spaces) as { spaces: unknown }).spaces,
      loadavg: readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" "),
    }),
  );
}
