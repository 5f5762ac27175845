// The REST client with a fake fetch: headers, and every kind of failure mapped to its code and exit code.
import { describe, expect, test } from "vitest";
import { EXIT_CODE_CASES } from "../test/support/exit-code-cases.js";
import { apiError, fakeFetch, json } from "../test/support/in-process.js";
import { ApiClient, describeNetworkError, type FetchLike } from "./api-client.js";
import { CliError } from "./cli-error.js";
import { EXIT, type ExitCode } from "./exit-codes.js";

function client(fetch: FetchLike, over: Partial<ConstructorParameters<typeof ApiClient>[0]> = {}) {
  return new ApiClient({
    baseUrl: "http://mixer.test:8090",
    token: "t0ken",
    timeoutMs: 10_000,
    actor: "alice",
    fetch,
    userAgent: "fluxrig-cli/test",
    tokenHint: "the token from FLUXRIG_API_TOKEN was refused",
    ...over,
  });
}

async function failure(p: Promise<unknown>): Promise<CliError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof CliError)) throw new Error(`expected a CliError, got ${String(err)}`);
  return err;
}

const errno = (code: string) =>
  new TypeError("fetch failed", { cause: Object.assign(new Error(code), { code }) });

describe("requests", () => {
  test("sends the token, the actor, a request id and JSON; builds the query", async () => {
    const fetch = fakeFetch({ "POST /api/v1/racks/rack-1/adopt": () => json(200, { name: "rack-1" }) });
    const api = client(fetch, { actor: "Alice Ops!" });
    expect(await api.post("/api/v1/racks/rack-1/adopt", { reason: "OPS-1" }, { x: undefined, y: 2 })).toEqual(
      {
        name: "rack-1",
      },
    );
    const [req] = fetch.seen;
    expect(req?.headers.get("authorization")).toBe("Bearer t0ken");
    expect(req?.headers.get("x-fluxrig-actor")).toBe("AliceOps");
    expect(req?.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(req?.headers.get("content-type")).toBe("application/json");
    expect(req?.body).toBe('{"reason":"OPS-1"}');
    expect(req?.url.search).toBe("?y=2");
  });

  test("no token, no authorization header; a base URL with a path prefix is kept", async () => {
    const fetch = fakeFetch({ "GET /fluxrig/api/v1/cluster": () => json(200, {}) });
    await client(fetch, { token: undefined, baseUrl: "http://proxy.test/fluxrig" }).get("/api/v1/cluster");
    expect(fetch.seen[0]?.headers.has("authorization")).toBe(false);
  });
});

describe("exit code mapping", () => {
  // Answers that carry the Mixer's own error code (a proxy's bare 502/504 has none).
  const answers = EXIT_CODE_CASES.filter((c): c is readonly [number, string, ExitCode] => c[1] !== undefined);
  test.each(answers)("HTTP %d %s -> exit %d, the Mixer's code and message", async (status, code, exit) => {
    const fetch = fakeFetch({ "GET /api/v1/racks/x": () => apiError(status, code, `said ${code}`) });
    const err = await failure(client(fetch).get("/api/v1/racks/x"));
    expect(err).toMatchObject({ code, message: `said ${code}`, exitCode: exit });
  });

  test("401 carries the token hint; 5xx the request id; details and the body are kept", async () => {
    const fetch = fakeFetch({
      "GET /a": () => apiError(401, "unauthorized", "invalid bearer token"),
      "GET /b": () =>
        new Response(JSON.stringify({ error: { code: "internal", message: "boom" } }), {
          status: 500,
          headers: { "x-request-id": "req-42" },
        }),
      "POST /c": () =>
        apiError(422, "schema", "scenario is invalid", { issues: [{ path: "meta", message: "x" }] }),
    });
    expect((await failure(client(fetch).get("/a"))).notes).toEqual([
      "the token from FLUXRIG_API_TOKEN was refused",
    ]);
    expect((await failure(client(fetch).get("/b"))).notes).toEqual(["request id req-42"]);
    const schema = await failure(client(fetch).post("/c", {}));
    expect(schema.details).toEqual({ issues: [{ path: "meta", message: "x" }] });
    expect(schema.body).toEqual({
      error: {
        code: "schema",
        message: "scenario is invalid",
        details: { issues: [{ path: "meta", message: "x" }] },
      },
    });
  });

  test("answers that are not from a Mixer are exit 3 bad_response", async () => {
    const fetch = fakeFetch({
      "GET /html": () => new Response("<html>bad gateway</html>", { status: 502 }),
      "GET /text": () => new Response("hello", { status: 200 }),
      "GET /404": () => new Response("Not Found", { status: 404 }),
      "GET /redirect": () => new Response(null, { status: 301, headers: { location: "https://elsewhere/" } }),
    });
    for (const path of ["/html", "/text", "/404", "/redirect"]) {
      const err = await failure(client(fetch).get(path));
      expect(err, path).toMatchObject({ code: "bad_response", exitCode: EXIT.unreachable });
    }
    expect((await failure(client(fetch).get("/redirect"))).message).toMatch(
      /redirecting to https:\/\/elsewhere\//,
    );
  });

  test.each([
    ["ECONNREFUSED", /connection refused, ECONNREFUSED/],
    ["ENOTFOUND", /host not found in DNS, ENOTFOUND/],
    ["ECONNRESET", /connection reset, ECONNRESET/],
  ])("a %s is exit 3 unreachable", async (code, message) => {
    const fetch: FetchLike = () => Promise.reject(errno(code));
    const err = await failure(client(fetch).get("/api/v1/racks"));
    expect(err).toMatchObject({ code: "unreachable", exitCode: EXIT.unreachable });
    expect(err.message).toMatch(message);
    expect(err.message).toContain("http://mixer.test:8090");
  });

  test("an answer that never comes is exit 3 timeout, naming the limit", async () => {
    // Resolves only when the client's own deadline aborts the request.
    const fetch: FetchLike = (_url, init) =>
      new Promise((_resolve, reject) =>
        init.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
      );
    const err = await failure(client(fetch, { timeoutMs: 20 }).get("/api/v1/racks"));
    expect(err).toMatchObject({ code: "timeout", exitCode: EXIT.unreachable });
    expect(err.message).toBe("no answer from the Mixer at http://mixer.test:8090 within 20ms");
  });
});

test("describeNetworkError looks inside AggregateErrors (several addresses tried)", () => {
  const agg = new TypeError("fetch failed", {
    cause: new AggregateError([Object.assign(new Error("x"), { code: "ECONNREFUSED" })], "all failed"),
  });
  expect(describeNetworkError(agg)).toBe("connection refused, ECONNREFUSED");
  expect(describeNetworkError(new Error("odd"))).toBe("odd");
});
