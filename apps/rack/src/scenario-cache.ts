// scenario.json: the last scenario applied while active, so an active Rack restarts its gears before the Mixer answers.
import { readFile, unlink } from "node:fs/promises";
import { writeFileAtomic } from "@fluxrig/passport";
import { decodeScenarioPush, type ScenarioPush } from "@fluxrig/wire";

/** Reads the kept scenario; undefined when there is none or it no longer decodes (it is only a cache). */
export async function readScenarioFile(path: string): Promise<ScenarioPush | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  const decoded = decodeScenarioPush(text);
  return decoded.ok ? decoded.value : undefined;
}

/** Keeps the scenario (atomic, 0600). */
export async function writeScenarioFile(path: string, push: ScenarioPush): Promise<void> {
  await writeFileAtomic({ path, data: `${JSON.stringify(push)}\n`, mode: 0o600 });
}

/** Forgets the kept scenario (on revocation). */
export async function removeScenarioFile(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}
