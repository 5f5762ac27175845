// The bootstrap .creds file the operator hands out with a Rack's config ([nats] creds): a secret, so it must be 0600.
import { readFile, stat } from "node:fs/promises";
import { RackCredsError } from "../rack-error.js";

const JWT_BLOCK =
  /-----BEGIN NATS USER JWT-----\s*\n\s*([A-Za-z0-9_.-]+)\s*\n\s*------END NATS USER JWT------/;
const SEED_BLOCK =
  /-----BEGIN USER NKEY SEED-----\s*\n\s*(SU[A-Z2-7]+)\s*\n\s*------END USER NKEY SEED------/;

/**
 * Reads the bootstrap `.creds` file: refuses one group or others can read (with the chmod to run) and one that is
 * not a NATS user credentials file. The bytes go to nats.js `credsAuthenticator`; never log them.
 *
 * @example const creds = await loadCredsFile("/etc/fluxrig/bootstrap.creds");
 */
export async function loadCredsFile(path: string): Promise<Uint8Array> {
  let mode: number;
  let text: string;
  try {
    mode = (await stat(path)).mode & 0o777;
    text = await readFile(path, "utf8");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new RackCredsError({
      path,
      message:
        code === "ENOENT"
          ? "no such file ([nats] creds names the bootstrap .creds file the operator hands out)"
          : `cannot read it (${code ?? String(cause)})`,
      cause,
    });
  }
  if ((mode & 0o077) !== 0)
    throw new RackCredsError({
      path,
      message: `mode 0${mode.toString(8)} lets group or others read a secret; refusing to use it (chmod 600 ${path})`,
    });
  if (!JWT_BLOCK.test(text) || !SEED_BLOCK.test(text))
    throw new RackCredsError({
      path,
      message: "not a NATS user credentials file (expected a USER JWT block and a USER NKEY SEED block)",
    });
  return new TextEncoder().encode(text);
}
