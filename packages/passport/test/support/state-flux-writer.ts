// Child process for crash tests: writes state.flux through our writer and reports progress on stdout, to be SIGKILLed.
//
// Usage: node --conditions=@fluxrig/source --import tsx state-flux-writer.ts <mode> <path> [json...]
//   pause <path> <envelope>          write, then hang between fsync and rename, printing "paused <temp>"
//   loop <path> <envelopeA> <envB>   alternate A and B for ever, printing "wrote <n>" after each
//   large <path> <bytes>             alternate files of all-"A" and all-"B" bytes, printing "start <n>" before each

import { writeFileAtomic } from "../../src/atomic-write.js";
import type { PassportEnvelope } from "../../src/envelope.js";
import { writeStateFlux, writeStateFluxWithHooks } from "../../src/state-flux.js";

const [mode, path, ...rest] = process.argv.slice(2);
if (mode === undefined || path === undefined) throw new Error("usage: state-flux-writer <mode> <path> ...");

function say(line: string): Promise<void> {
  // Resolves once the line is handed to the pipe, so the parent never acts on a line we have not sent.
  return new Promise((resolve) => process.stdout.write(`${line}\n`, () => resolve()));
}

if (mode === "pause") {
  const env = JSON.parse(rest[0] ?? "") as PassportEnvelope;
  await writeStateFluxWithHooks({
    path,
    env,
    hooks: {
      beforePublish: async (temp) => {
        await say(`paused ${temp}`);
        await new Promise(() => setInterval(() => undefined, 60_000));
      },
    },
  });
} else if (mode === "loop") {
  const envs = rest.map((text) => JSON.parse(text) as PassportEnvelope);
  for (let n = 0; ; n++) {
    await writeStateFlux(path, envs[n % envs.length]!);
    await say(`wrote ${n + 1}`);
  }
} else if (mode === "large") {
  const size = Number(rest[0]);
  const blocks = [Buffer.alloc(size, "A"), Buffer.alloc(size, "B")];
  for (let n = 0; ; n++) {
    await say(`start ${n + 1}`);
    await writeFileAtomic({ path, data: blocks[n % 2]!, mode: 0o600 });
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
