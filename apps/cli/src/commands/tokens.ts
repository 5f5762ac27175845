// `fluxrig tokens create|list|revoke`: named API tokens with roles (admin only). A secret is printed once, at creation.
import {
  API_TOKEN_ROLES,
  type ApiTokenCreated,
  type ApiTokenRevoked,
  type ApiTokenView,
} from "@fluxrig/wire";
import { type Command, Option } from "commander";
import type { CliContext } from "../cli-context.js";
import { renderTable } from "../columns.js";
import { jsonOption, reasonOption, withExamples } from "../command-kit.js";

const tokenPath = (name: string) => `/api/v1/tokens/${encodeURIComponent(name)}`;

/** Registers `fluxrig tokens ...`. */
export function registerTokens(program: Command, ctx: CliContext): void {
  const tokens = program
    .command("tokens")
    .description(
      "Named API tokens with roles: viewer (read), operator (adopt, reject, scenarios), admin (all)",
    );

  const create = tokens
    .command("create <name>")
    .description("Create a named token; its secret is printed ONCE, on stdout (store it now)")
    .addOption(
      new Option("--role <role>", "what the token may do")
        .choices([...API_TOKEN_ROLES])
        .makeOptionMandatory(),
    )
    .addOption(jsonOption("print the API's JSON body, secret included"))
    .action(async (name: string, opts: { role: string; json?: boolean }, command: Command) => {
      const api = await ctx.api(command);
      const created = await api.post<ApiTokenCreated>("/api/v1/tokens", { name, role: opts.role });
      if (opts.json) return ctx.out.json(created);
      // The secret alone on stdout, so `$(fluxrig tokens create ...)` captures exactly it; the rest on stderr.
      ctx.out.note(
        `created token ${ctx.out.c.bold(created.name)} (${created.role}); its secret is shown only now, the Mixer keeps its SHA-256:`,
      );
      ctx.out.print(created.secret);
    });
  withExamples(create, [
    "tokens create grafana --role viewer",
    "tokens create alice --role operator > alice.token",
  ]);

  const list = tokens
    .command("list")
    .description("List the live named tokens and their roles (never their secrets)")
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }, command: Command) => {
      const api = await ctx.api(command);
      const rows = await api.get<ApiTokenView[]>("/api/v1/tokens");
      if (opts.json) return ctx.out.json(rows);
      if (rows.length === 0)
        return ctx.out.note("no named tokens (the configured [api] auth_token is the admin)");
      const c = ctx.out.c;
      ctx.out.print(
        renderTable(
          rows,
          [
            { header: "NAME", value: (t) => c.bold(t.name) },
            { header: "ROLE", value: (t) => t.role },
            { header: "CREATED", value: (t) => t.created_at },
            { header: "BY", value: (t) => t.created_by },
          ],
          c.dim,
        ),
      );
    });
  withExamples(list, ["tokens list", "tokens list --json | jq -r '.[].name'"]);

  const revoke = tokens
    .command("revoke <name>")
    .description("Revoke a named token: it stops working at once")
    .addOption(reasonOption())
    .addOption(jsonOption())
    .action(async (name: string, opts: { reason?: string; json?: boolean }, command: Command) => {
      const api = await ctx.api(command);
      const body = opts.reason === undefined ? undefined : { reason: opts.reason };
      const revoked = await api.delete<ApiTokenRevoked>(tokenPath(name), body);
      if (opts.json) return ctx.out.json(revoked);
      ctx.out.print(`revoked token ${ctx.out.c.bold(revoked.name)} (${revoked.role})`);
    });
  withExamples(revoke, ["tokens revoke grafana --reason 'dashboard retired'"]);
  withExamples(tokens, ["tokens create grafana --role viewer", "tokens list", "tokens revoke grafana"]);
}
