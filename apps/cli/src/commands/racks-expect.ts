// `fluxrig racks expect <name> --key <fingerprint>` (and `--forget`), `fluxrig racks expected`: names that may only be
// adopted with one key (issue 16), like Salt's pre-accepted keys.
import type { ExpectedKeyView } from "@fluxrig/wire";
import { Argument, type Command, Option } from "commander";
import { parseFingerprint, parseRackName } from "../arg-parsers.js";
import type { CliContext } from "../cli-context.js";
import { usageError } from "../cli-error.js";
import { renderTable } from "../columns.js";
import { jsonOption, reasonOption, withExamples } from "../command-kit.js";

const keyPath = (name: string) => `/api/v1/expected-keys/${encodeURIComponent(name)}`;

/** Registers `racks expect` and `racks expected` under `racks`. */
export function registerExpect(racks: Command, ctx: CliContext): void {
  const expect = racks
    .command("expect")
    .description(
      "Adopt <name> only with the key of this fingerprint: that key is adopted on its first hello, any other is a name conflict",
    )
    .addArgument(new Argument("<name>", "the Rack name").argParser(parseRackName))
    .addOption(
      new Option(
        "--key <fingerprint>",
        "the key's fingerprint, SHA256:... (fluxrig-rack status prints it)",
      ).argParser(parseFingerprint),
    )
    .option("--forget", "remove the name's expected key: any key may be adopted under it again")
    .addOption(reasonOption())
    .addOption(jsonOption())
    .action(
      async (
        name: string,
        opts: { key?: string; forget?: boolean; reason?: string; json?: boolean },
        command: Command,
      ) => {
        if ((opts.key === undefined) === (opts.forget !== true)) {
          throw usageError("give --key <fingerprint> or --forget", [
            "e.g. fluxrig racks expect rack-nyc-01 --key SHA256:...",
          ]);
        }
        const api = await ctx.api(command);
        const reason = opts.reason === undefined ? {} : { reason: opts.reason };
        const view =
          opts.key === undefined
            ? await api.delete<ExpectedKeyView>(keyPath(name), opts.reason === undefined ? undefined : reason)
            : await api.post<ExpectedKeyView>(keyPath(name), { key: opts.key, ...reason });
        if (opts.json) return ctx.out.json(view);
        ctx.out.print(
          opts.key === undefined
            ? `${view.name}: expected key ${view.key_fingerprint} forgotten; any key may be adopted under this name`
            : `${view.name}: adopted only with key ${view.key_fingerprint}`,
        );
      },
    );
  withExamples(expect, [
    "racks expect rack-nyc-01 --key SHA256:B2xG4DZYvfOJb/FdI9qkOcP3Zl0rUu1c5m8WvXqZ0aQ",
    "racks expect rack-nyc-01 --forget --reason 'box replaced'",
  ]);

  const expected = racks
    .command("expected")
    .description("List the names that may only be adopted with one key")
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }, command: Command) => {
      const api = await ctx.api(command);
      const rows = await api.get<ExpectedKeyView[]>("/api/v1/expected-keys");
      if (opts.json) return ctx.out.json(rows);
      if (rows.length === 0) return ctx.out.note("no expected keys");
      const c = ctx.out.c;
      ctx.out.print(
        renderTable(
          rows,
          [
            { header: "NAME", value: (r) => c.bold(r.name) },
            { header: "KEY", value: (r) => r.key_fingerprint },
            { header: "SINCE", value: (r) => r.created_at },
            { header: "BY", value: (r) => r.created_by },
          ],
          c.dim,
        ),
      );
    });
  withExamples(expected, ["racks expected", "racks expected --json"]);
}
