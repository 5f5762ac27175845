// `fluxrig enroll-tokens create|list|revoke`: enrollment tokens (issue 16), which let a Rack whose name matches be
// adopted on its first hello. Operator role. A secret is printed once, at creation.
import type { EnrollmentTokenCreated, EnrollmentTokenRevoked, EnrollmentTokenView } from "@fluxrig/wire";
import { Argument, type Command, InvalidArgumentError, Option } from "commander";
import { parseExpiry, parsePattern, parseUses } from "../arg-parsers.js";
import type { CliContext } from "../cli-context.js";
import { renderTable } from "../columns.js";
import { jsonOption, reasonOption, withExamples } from "../command-kit.js";

const ID = /^[0-9a-f]{12}$/;
const tokenPath = (id: string) => `/api/v1/enrollment-tokens/${encodeURIComponent(id)}`;

function parseTokenId(value: string): string {
  if (!ID.test(value)) {
    throw new InvalidArgumentError(
      "Expected the token's id: 12 hex digits, as enroll-tokens list shows it (also the part after fet_ in its secret).",
    );
  }
  return value;
}

/** Registers `fluxrig enroll-tokens ...`. */
export function registerEnrollTokens(program: Command, ctx: CliContext): void {
  const tokens = program
    .command("enroll-tokens")
    .description(
      "Enrollment tokens: a Rack set up with one ([rack] enrollment_token) is adopted on its first hello if its name matches",
    );

  const create = tokens
    .command("create")
    .description("Create an enrollment token; its secret is printed ONCE, on stdout (store it now)")
    .addOption(
      new Option("--pattern <glob>", "the Rack names it admits, with * and ? (quote it)")
        .argParser(parsePattern)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("--uses <n>", "how many Racks it may adopt").argParser(parseUses).makeOptionMandatory(),
    )
    .addOption(
      new Option("--expires <duration>", "how long it is valid, e.g. 24h or 7d")
        .argParser(parseExpiry)
        .makeOptionMandatory(),
    )
    .addOption(jsonOption("print the API's JSON body, secret included"))
    .action(
      async (opts: { pattern: string; uses: number; expires: number; json?: boolean }, command: Command) => {
        const api = await ctx.api(command);
        const created = await api.post<EnrollmentTokenCreated>("/api/v1/enrollment-tokens", {
          pattern: opts.pattern,
          uses: opts.uses,
          expires_in_seconds: opts.expires,
        });
        if (opts.json) return ctx.out.json(created);
        // The secret alone on stdout, so `$(fluxrig enroll-tokens create ...)` captures exactly it.
        ctx.out.note(
          `created enrollment token ${ctx.out.c.bold(created.id)} for ${created.pattern} (${created.uses} uses, expires ${created.expires_at}); its secret is shown only now:`,
        );
        ctx.out.print(created.secret);
      },
    );
  withExamples(create, [
    "enroll-tokens create --pattern 'edge-*' --uses 10 --expires 24h",
    "enroll-tokens create --pattern 'lab-??' --uses 4 --expires 2h > lab.token",
  ]);

  const list = tokens
    .command("list")
    .description("List enrollment tokens with their uses, expiry and state (never their secrets)")
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }, command: Command) => {
      const api = await ctx.api(command);
      const rows = await api.get<EnrollmentTokenView[]>("/api/v1/enrollment-tokens");
      if (opts.json) return ctx.out.json(rows);
      if (rows.length === 0) return ctx.out.note("no enrollment tokens");
      const c = ctx.out.c;
      ctx.out.print(
        renderTable(
          rows,
          [
            { header: "ID", value: (t) => c.bold(t.id) },
            { header: "PATTERN", value: (t) => t.pattern },
            { header: "USED", value: (t) => `${t.used}/${t.uses}` },
            { header: "EXPIRES", value: (t) => t.expires_at },
            { header: "STATE", value: (t) => (t.state === "usable" ? t.state : c.dim(t.state)) },
            { header: "BY", value: (t) => t.created_by },
          ],
          c.dim,
        ),
      );
    });
  withExamples(list, ["enroll-tokens list", "enroll-tokens list --json | jq -r '.[].id'"]);

  const revoke = tokens
    .command("revoke")
    .addArgument(new Argument("<id>", "the token's id (enroll-tokens list)").argParser(parseTokenId))
    .description("Revoke an enrollment token: it adopts nobody from now on (Racks it adopted stay adopted)")
    .addOption(reasonOption())
    .addOption(jsonOption())
    .action(async (id: string, opts: { reason?: string; json?: boolean }, command: Command) => {
      const api = await ctx.api(command);
      const body = opts.reason === undefined ? undefined : { reason: opts.reason };
      const revoked = await api.delete<EnrollmentTokenRevoked>(tokenPath(id), body);
      if (opts.json) return ctx.out.json(revoked);
      ctx.out.print(
        `revoked enrollment token ${ctx.out.c.bold(revoked.id)} (${revoked.pattern}, used ${revoked.used}/${revoked.uses})`,
      );
    });
  withExamples(revoke, ["enroll-tokens revoke 0123456789ab --reason 'leaked in a ticket'"]);
  withExamples(tokens, [
    "enroll-tokens create --pattern 'edge-*' --uses 10 --expires 24h",
    "enroll-tokens list",
    "enroll-tokens revoke 0123456789ab",
  ]);
}
