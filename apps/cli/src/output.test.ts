// Colour decisions and the shape of error lines.
import { expect, test } from "vitest";
import { colorEnabled, Output } from "./output.js";

test.each([
  [{}, true, true],
  [{}, false, false],
  [{ NO_COLOR: "1" }, true, false],
  [{ NO_COLOR: "" }, true, true],
  [{ TERM: "dumb" }, true, false],
  [{ FORCE_COLOR: "1" }, false, true],
  [{ FORCE_COLOR: "0" }, false, false],
  [{ FORCE_COLOR: "1", NO_COLOR: "1" }, true, false],
])("colorEnabled(%j, tty=%s) = %s", (env, isTTY, expected) => {
  expect(colorEnabled({ env, isTTY })).toBe(expected);
});

test("errors are `error: <message> (<code>)` on stderr, notes indented under them", () => {
  let out = "";
  let err = "";
  const o = new Output({
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    color: false,
  });
  o.error({ message: "no Rack rack-9", code: "not_found", notes: ["try: fluxrig racks list"] });
  o.json({ a: "1" });
  expect(err).toBe("error: no Rack rack-9 (not_found)\n  try: fluxrig racks list\n");
  expect(JSON.parse(out)).toEqual({ a: "1" });
});
