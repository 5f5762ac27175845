// Aligned columns and label/value blocks, measured by visible width.
import pc from "picocolors";
import { expect, test } from "vitest";
import { renderFields, renderTable, stripAnsi, visibleWidth } from "./columns.js";

const c = pc.createColors(true);

test("visibleWidth ignores colour codes", () => {
  expect(visibleWidth(c.red("abc"))).toBe(3);
  expect(visibleWidth("")).toBe(0);
});

test("renderTable aligns by visible width, right-aligns numbers, leaves no trailing spaces", () => {
  const rows = [
    { name: "rack-nyc-01", status: c.green("active"), mid: 100 },
    { name: "r2", status: c.yellow("pending"), mid: 7 },
  ];
  const text = renderTable(rows, [
    { header: "NAME", value: (r) => r.name },
    { header: "STATUS", value: (r) => r.status },
    { header: "MID", value: (r) => String(r.mid), align: "right" },
  ]);
  expect(text).not.toBe(stripAnsi(text));
  const plain = stripAnsi(text);
  expect(plain.split("\n")).toEqual([
    "NAME         STATUS   MID",
    "rack-nyc-01  active   100",
    "r2           pending    7",
  ]);
  for (const line of text.split("\n")) expect(line).toBe(line.trimEnd());
});

test("renderTable keeps one row per line even when a value has newlines", () => {
  expect(renderTable([{ v: "a\nb" }], [{ header: "V", value: (r) => r.v }])).toBe("V\na b");
});

test("renderFields aligns values and indents continuation lines", () => {
  expect(
    renderFields([
      ["name", "rack-1"],
      ["passport", "serial 1\nexpires in 3h"],
      ["x", ""],
    ]),
  ).toBe(["name      rack-1", "passport  serial 1", "          expires in 3h", "x"].join("\n"));
});
