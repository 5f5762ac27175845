// Test support: run the CLI in-process against a scripted fetch, capturing stdout, stderr and the exit code.
import { Readable } from "node:stream";
import type { FetchLike } from "../../src/api-client.js";
import { runCli } from "../../src/cli.js";
import type { CliDeps } from "../../src/cli-context.js";

/** One request the fake fetch saw. */
export interface SeenRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: string | undefined;
}

export type Handler = (req: SeenRequest) => Response | Promise<Response>;

/** A JSON response. @example json(404, { error: { code: "not_found", message: "no Rack x" } }) */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** An API error body response. */
export function apiError(
  status: number,
  code: string,
  message: string,
  details?: Record<string, unknown>,
): Response {
  return json(status, { error: { code, message, ...(details ? { details } : {}) } });
}

/**
 * A fetch that answers by "METHOD /path" (query ignored for matching) and records every request.
 * Unknown routes answer the Mixer's 404 so a test sees a clear failure rather than a hang.
 */
export function fakeFetch(routes: Record<string, Handler>): FetchLike & { seen: SeenRequest[] } {
  const seen: SeenRequest[] = [];
  const fn = async (input: string, init: RequestInit) => {
    const url = new URL(input);
    const req: SeenRequest = {
      method: init.method ?? "GET",
      url,
      headers: new Headers(init.headers),
      body: typeof init.body === "string" ? init.body : undefined,
    };
    seen.push(req);
    const handler = routes[`${req.method} ${url.pathname}`];
    if (!handler) return apiError(404, "not_found", `no route ${req.method} ${url.pathname}`);
    return handler(req);
  };
  return Object.assign(fn, { seen });
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  fetch?: FetchLike;
  env?: Record<string, string | undefined>;
  now?: Date;
  stdinIsTTY?: boolean;
  stdin?: string;
  confirm?: (question: string) => Promise<boolean>;
  stdoutIsTTY?: boolean;
}

/** Runs `fluxrig <argv>` in-process. The settings file is looked for in a directory that does not exist. */
export async function runInProcess(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  const deps: CliDeps = {
    io: {
      stdout: { write: (s: string) => (stdout += s), isTTY: opts.stdoutIsTTY ?? false },
      stderr: { write: (s: string) => (stderr += s), isTTY: false },
      stdinIsTTY: opts.stdinIsTTY ?? false,
      stdin: () => Readable.from([opts.stdin ?? ""]),
    },
    env: {
      FLUXRIG_API_URL: "http://mixer.test:8090",
      FLUXRIG_API_TOKEN: "t0ken",
      XDG_CONFIG_HOME: "/nonexistent/fluxrig-cli-test",
      ...opts.env,
    },
    fetch: opts.fetch ?? fakeFetch({}),
    now: () => opts.now ?? new Date("2025-06-01T12:00:00.000Z"),
    homeDir: "/nonexistent/home",
    username: "tester",
    ...(opts.confirm ? { confirm: opts.confirm } : {}),
  };
  const code = await runCli(argv, deps);
  return { code, stdout, stderr };
}
