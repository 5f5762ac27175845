// Turns bench-results/*.json into bench-results/SUMMARY.md: one table of every figure, printed too.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = "bench-results";
const rows = [];
const micro = JSON.parse(readFileSync(join(dir, "micro.json"), "utf8"));
for (const file of micro.files ?? []) {
  for (const group of file.groups ?? []) {
    for (const b of group.benchmarks ?? []) {
      rows.push([
        group.fullName.replace(/^.*?\.bench\.ts > /, ""),
        b.name,
        `${Math.round(b.hz).toLocaleString("en-US")} ops/s`,
        `p99 ${(b.p99 * 1000).toFixed(1)} us`,
      ]);
    }
  }
}
for (const name of readdirSync(dir).filter((f) => f.endsWith(".json") && f !== "micro.json")) {
  const data = JSON.parse(readFileSync(join(dir, name), "utf8"));
  for (const fig of data.figures ?? [])
    rows.push([data.suite ?? name, fig.name, `${fig.value} ${fig.unit ?? ""}`.trim(), fig.note ?? ""]);
}
const lines = [
  "| suite | benchmark | figure | detail |",
  "|---|---|---|---|",
  ...rows.map((r) => `| ${r.join(" | ")} |`),
];
const text = `# Benchmark figures (${new Date().toISOString()}, node ${process.version})\n\n${lines.join("\n")}\n`;
writeFileSync(join(dir, "SUMMARY.md"), text);
console.log(text);
