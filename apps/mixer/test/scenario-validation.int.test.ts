// Scenario import against a real Mixer: gear config checked at import, and every problem of a document answered in
// one 422 with its line; nothing is imported from a refused document.
import { MixerHarness } from "@fluxrig/testkit";
import { expect, test } from "vitest";

const GOOD = `meta: { name: edge-demo, version: 1 }
racks: [{ name: rack-a }]
gears:
  - { name: tick, type: ticker, deploy: rack-a, config: { interval: 1s } }
  - { name: count, type: counter, deploy: rack-a, config: { every: 5 } }
wires:
  - { from: tick.out, to: count.in }
`;

interface ErrorBody {
  error: {
    code: string;
    message: string;
    details: { issues: Array<{ path: string; message: string; line?: number; column?: number }> };
  };
}

function post(h: MixerHarness, yaml: string) {
  return h.api<ErrorBody>("/api/v1/scenarios", {
    method: "POST",
    body: yaml,
    headers: { "content-type": "application/yaml" },
  });
}

test("gear config is refused at import: unknown keys and bad values, each with its line, all at once", async () => {
  await using h = await MixerHarness.create();
  const bad = GOOD.replace("{ interval: 1s }", "{ interval_ms: 1000, bogus: 1 }")
    .replace("{ every: 5 }", '{ every: "lots" }')
    .replace("type: counter", "type: countr")
    .replace("to: count.in", "to: cnt.in");
  const res = await post(h, bad);
  expect(res.status).toBe(422);
  expect(res.body.error.code).toBe("schema");
  expect(res.body.error.message).toMatch(
    /^invalid scenario: line 4: gears\[0\]\.config\.interval_ms: .*\(and 3 more\)$/,
  );
  expect(res.body.error.details.issues.map((i) => [i.line, i.path])).toEqual([
    [4, "gears[0].config.interval_ms"],
    [4, "gears[0].config.bogus"],
    [5, "gears[1].type"],
    [7, "wires[0].to"],
  ]);
  for (const issue of res.body.error.details.issues) expect(issue.column).toBeGreaterThan(0);
  // A counter's `every: "lots"` is refused too (the type above was unknown, so its config could not be checked).
  const lots = await post(h, GOOD.replace("{ every: 5 }", '{ every: "lots" }'));
  expect(lots.status).toBe(422);
  expect(lots.body.error.details.issues).toEqual([
    {
      path: "gears[1].config.every",
      message: "expected a whole number of messages, at least 1",
      line: 5,
      column: 68,
    },
  ]);
  expect((await h.api<{ items: unknown[] }>("/api/v1/scenarios")).body.items).toEqual([]);

  const good = await post(h, GOOD);
  expect(good.status).toBe(200);
});
