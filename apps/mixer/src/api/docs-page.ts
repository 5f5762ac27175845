// The interactive docs page: one self-contained HTML file (no CDN, the Mixer's hosts have no internet).
import { createHash } from "node:crypto";

// The script builds every element with textContent, never innerHTML, so nothing from the document or a response
// is ever parsed as markup.
const SCRIPT = `
const $ = (tag, props = {}, ...kids) => { const e = Object.assign(document.createElement(tag), props); e.append(...kids); return e; };
const tokenInput = document.getElementById("token");
const actorInput = document.getElementById("actor");
tokenInput.value = sessionStorage.getItem("fluxrig-token") || "";
tokenInput.addEventListener("change", () => sessionStorage.setItem("fluxrig-token", tokenInput.value));

function exampleOf(media) {
  if (!media) return "";
  if (media.example !== undefined) return typeof media.example === "string" ? media.example : JSON.stringify(media.example, null, 2);
  return "";
}

function operationView(path, method, op) {
  const inputs = {};
  const fields = $("div", { className: "fields" });
  for (const p of op.parameters || []) {
    // Empty, with the example as a hint only: a pre-filled value would be sent along with what the reader types.
    const hint = p.schema && p.schema.enum ? p.schema.enum.join(" | ") : (p.schema && p.schema.type) || "";
    const input = $("input", { name: p.name, value: "", placeholder: p.example !== undefined ? "e.g. " + p.example : hint });
    inputs[p.in + ":" + p.name] = input;
    fields.append($("label", {}, $("span", { textContent: p.name + (p.required ? " *" : "") + " (" + p.in + ")" }), input));
  }
  let body = null, type = null;
  if (op.requestBody) {
    const types = Object.keys(op.requestBody.content);
    type = $("select", {}, ...types.map((t) => $("option", { value: t, textContent: t })));
    body = $("textarea", { rows: 8, value: exampleOf(op.requestBody.content[types[0]]) });
    fields.append($("label", {}, $("span", { textContent: "body" }), type), body);
  }
  const out = $("pre", { className: "out" });
  const send = $("button", { textContent: "Send" });
  send.addEventListener("click", async () => {
    let url = path.replace(/\\{([a-z_]+)\\}/g, (_, n) => encodeURIComponent((inputs["path:" + n] || {}).value || ""));
    const qs = new URLSearchParams();
    for (const [key, input] of Object.entries(inputs)) if (key.startsWith("query:") && input.value !== "") qs.set(key.slice(6), input.value);
    if ([...qs].length) url += "?" + qs;
    const headers = {};
    if (tokenInput.value) headers.Authorization = "Bearer " + tokenInput.value;
    if (actorInput.value) headers["X-Fluxrig-Actor"] = actorInput.value;
    const init = { method: method.toUpperCase(), headers };
    if (body && body.value !== "") { headers["Content-Type"] = type.value; init.body = body.value; }
    out.textContent = method.toUpperCase() + " " + url + " ...";
    try {
      const res = await fetch(url, init);
      const text = await res.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch {}
      out.textContent = res.status + " " + res.statusText + "  (request id " + res.headers.get("X-Request-Id") + ")\\n\\n" + shown;
    } catch (err) { out.textContent = "request failed: " + err; }
  });
  const summary = $("summary", {}, $("b", { className: "m " + method, textContent: method.toUpperCase() }), " " + path + "  ", $("i", { textContent: op.summary || "" }));
  return $("details", {}, summary, $("p", { textContent: op.description || "" }), fields, send, out);
}

fetch("openapi.json").then((r) => r.json()).then((doc) => {
  const root = document.getElementById("ops");
  document.getElementById("version").textContent = doc.info.title + " " + doc.info.version;
  for (const [path, item] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(item)) root.append(operationView(path, method, op));
}).catch((err) => { document.getElementById("ops").textContent = "cannot load openapi.json: " + err; });
`;

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem auto; max-width: 70rem; padding: 0 1rem; color: #222; }
header { display: flex; gap: 1rem; align-items: end; flex-wrap: wrap; }
label { display: flex; flex-direction: column; margin: .3rem 0; }
label span { font-size: 12px; color: #555; }
input, textarea, select { font: 13px ui-monospace, monospace; padding: .3rem; }
details { border: 1px solid #ddd; border-radius: 4px; margin: .4rem 0; padding: .4rem .6rem; }
summary { cursor: pointer; font-family: ui-monospace, monospace; }
.m { display: inline-block; min-width: 4.5rem; }
.get { color: #06c; } .post { color: #080; } .delete { color: #b00; }
.out { background: #f6f6f6; padding: .5rem; white-space: pre-wrap; word-break: break-all; max-height: 30rem; overflow: auto; }
button { margin: .4rem 0; padding: .3rem 1rem; }
`;

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

/** The page's Content-Security-Policy: only its own inline script and style, and requests to this origin. */
export const DOCS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The HTML of `GET /api/v1/docs`; it reads `openapi.json` next to it, so it always matches the served API. */
export const DOCS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fluxrig Mixer API</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1 id="version">fluxrig Mixer API</h1>
<label><span>Bearer token (kept in this tab only)</span><input id="token" type="password" autocomplete="off"></label>
<label><span>Actor (X-Fluxrig-Actor, optional)</span><input id="actor" autocomplete="off"></label>
</header>
<p>Every operation of <a href="openapi.json">openapi.json</a>. Open one, fill in its fields and send it.</p>
<main id="ops"></main>
<script>${SCRIPT}</script>
</body>
</html>
`;
