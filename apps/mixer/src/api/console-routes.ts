// The operator console (docs/console.md): one HTML page and its script and style, built by tooling/build-console.mjs
// into the Mixer's dist/console/ and served here, same origin as the API, under a strict Content-Security-Policy.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ConsoleAsset, ConsoleAssets } from "./api-deps.js";
import type { ApiApp } from "./api-route.js";

/**
 * The page's policy: its own script and style only (no inline code), requests to its own origin only, never framed,
 * no `<base>`, no form posts; `data:` images for the favicon.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
};

/**
 * Reads the built console from `dir` (the files of {@link TYPES}); null when `dir` holds no built console.
 *
 * @example
 * const assets = loadConsoleAssets(new URL("./console/", import.meta.url));
 */
export function loadConsoleAssets(dir: string | URL): ConsoleAssets {
  const root = typeof dir === "string" ? dir : fileURLToPath(dir);
  if (!existsSync(`${root}/index.html`)) return null;
  const assets = new Map<string, ConsoleAsset>();
  for (const [file, contentType] of Object.entries(TYPES)) {
    const body = new Uint8Array(readFileSync(`${root}/${file}`));
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
    assets.set(file === "index.html" ? "/" : `/console/${file}`, { body, contentType, etag });
  }
  return assets;
}

/**
 * The console as built beside the running code: `dist/console/` next to the bundled `dist/fluxrig-mixer.js`, or,
 * when the Mixer runs from source (tests, tsx), the package's `dist/console/` written by `pnpm build`.
 */
export function builtConsoleAssets(): ConsoleAssets {
  if (built !== undefined) return built;
  built = null;
  for (const candidate of ["./console/", "../../dist/console/"]) {
    const assets = loadConsoleAssets(new URL(candidate, import.meta.url));
    if (assets !== null) {
      built = assets;
      break;
    }
  }
  return built;
}

/** Read once per process: the files do not change under a running Mixer. */
let built: ConsoleAssets | undefined;

/**
 * `GET /` (the page) and `GET /console/<file>`. No token: the page holds no data, and every API call it makes carries
 * the operator's bearer token. Unknown files fall through to the API's 404.
 */
export function consoleRoutes(app: ApiApp, assets: ConsoleAssets): void {
  if (assets === null) {
    app.get("/", (c) =>
      c.text("The console was not built: run pnpm build (docs/console.md).\n", 503, {
        "Cache-Control": "no-store",
      }),
    );
    return;
  }
  for (const [path, asset] of assets) {
    app.get(path, (c) => {
      c.header("Content-Security-Policy", CONSOLE_CSP);
      // Fixed file names: the browser keeps its copy and asks each time whether it is still current.
      c.header("Cache-Control", "no-cache");
      c.header("ETag", asset.etag);
      if (c.req.header("If-None-Match") === asset.etag) return c.body(null, 304);
      c.header("Content-Type", asset.contentType);
      return c.body(asset.body as Uint8Array<ArrayBuffer>, 200);
    });
  }
}
