// state.flux: the Rack's passport file, replaced atomically with mode 0600 and read back with clear errors.

import { open } from "node:fs/promises";
import { writeFileAtomic } from "./atomic-write.js";
import { MAX_PASSPORT_BYTES, type PassportEnvelope, parsePassport, stringifyPassport } from "./envelope.js";
import { PassportError, StateFluxError } from "./errors.js";

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Hooks for crash tests; production callers use {@link writeStateFlux}. */
export interface StateFluxWriteHooks {
  /** Runs once the temp file is written and fsynced, before it is renamed over the state file. */
  beforePublish?: (tempPath: string) => Promise<void>;
}

/**
 * The exact bytes of a state.flux file for an envelope: its compact JSON and one newline.
 *
 * @example
 * stateFluxText(env).endsWith("}\n") // true
 */
export function stateFluxText(env: PassportEnvelope): string {
  return `${stringifyPassport(env)}\n`;
}

/**
 * Replaces the state file with `env`: temp file in the same directory, write, fsync, rename, fsync the
 * directory, mode 0600. A crash at any point leaves the old file or the new one, never a mix. The
 * envelope is checked structurally first; write failures are StateFluxError with reason "write-failed".
 *
 * @example
 * await writeStateFlux("/var/lib/fluxrig-rack/state.flux", env);
 */
export async function writeStateFlux(path: string, env: PassportEnvelope): Promise<void> {
  await writeStateFluxWithHooks({ path, env });
}

/** {@link writeStateFlux} with crash points, for tests. @example await writeStateFluxWithHooks({ path, env, hooks }); */
export async function writeStateFluxWithHooks(opts: {
  path: string;
  env: PassportEnvelope;
  hooks?: StateFluxWriteHooks;
}): Promise<void> {
  let text: string;
  try {
    text = stateFluxText(opts.env);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new StateFluxError({
      path: opts.path,
      reason: "invalid",
      detail: `refusing to write: ${detail}`,
      cause,
    });
  }
  try {
    await writeFileAtomic({
      path: opts.path,
      data: text,
      mode: 0o600,
      ...(opts.hooks?.beforePublish ? { hooks: { beforePublish: opts.hooks.beforePublish } } : {}),
    });
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? "unknown error";
    throw new StateFluxError({ path: opts.path, reason: "write-failed", detail: code, cause });
  }
}

/**
 * Reads the state file. Returns null when there is none; throws StateFluxError ("truncated", "garbled",
 * "too-large", "unreadable" or "invalid") otherwise. Stray temp files of an interrupted write are ignored.
 * Only the structure is checked here: verify the passport before trusting it.
 *
 * @example
 * const env = await readStateFlux(path);
 * if (env === null) enroll();
 */
export async function readStateFlux(path: string): Promise<PassportEnvelope | null> {
  const bytes = await readCapped(path);
  if (bytes === null) return null;
  if (bytes.length === 0) {
    throw new StateFluxError({ path, reason: "truncated", detail: "the file is empty" });
  }
  const text = bytes.toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    const truncated = looksTruncated(text);
    const reason = truncated ? "truncated" : "garbled";
    const detail = truncated ? "the JSON ends early" : "not JSON";
    throw new StateFluxError({ path, reason, detail, cause });
  }
  try {
    return parsePassport(value);
  } catch (cause) {
    if (!(cause instanceof PassportError)) throw cause;
    throw new StateFluxError({ path, reason: "invalid", detail: cause.message, cause });
  }
}

async function readCapped(path: string): Promise<Buffer | null> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    throw new StateFluxError({ path, reason: "unreadable", detail: code ?? "cannot open", cause });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new StateFluxError({ path, reason: "unreadable", detail: "not a regular file" });
    }
    // One byte for the trailing newline; the size cap itself belongs to the envelope.
    if (info.size > MAX_PASSPORT_BYTES + 1) {
      throw new StateFluxError({ path, reason: "too-large", detail: `${info.size} bytes` });
    }
    return await handle.readFile();
  } catch (cause) {
    if (cause instanceof StateFluxError) throw cause;
    const code = (cause as NodeJS.ErrnoException).code;
    throw new StateFluxError({ path, reason: "unreadable", detail: code ?? "cannot read", cause });
  } finally {
    await handle.close();
  }
}

/**
 * Whether unparseable text looks cut off rather than damaged: it starts like our JSON, holds only the
 * printable characters our writer emits, and just never reaches its closing brace.
 */
function looksTruncated(text: string): boolean {
  const trimmed = text.trimEnd();
  return trimmed.startsWith("{") && !trimmed.endsWith("}") && PRINTABLE_ASCII.test(trimmed);
}
