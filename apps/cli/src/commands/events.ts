// `fluxrig events`: the audit log of decisions (filtered by Rack and time, or followed live), and `events verify` of
// its hash chain.
import { type Command, Option } from "commander";
import type { AuditEventPage, AuditVerifyResult } from "../api-types.js";
import { parseLimit, parseRef, parseSeq } from "../arg-parsers.js";
import type { CliContext } from "../cli-context.js";
import { CliError, usageError } from "../cli-error.js";
import { jsonOption, withExamples } from "../command-kit.js";
import { DurationSyntaxError, parseSince } from "../durations.js";
import { followEvents } from "../event-follow.js";
import { EXIT } from "../exit-codes.js";
import { followPages } from "../paging.js";
import { eventFollowHeader, eventFollowRow, eventTable } from "../views/event-views.js";

interface EventOptions {
  rack?: string;
  after?: string;
  since?: string;
  limit?: number;
  all?: boolean;
  follow?: boolean;
  json?: boolean;
}

function sinceParam(text: string | undefined, now: Date): string | undefined {
  if (text === undefined) return undefined;
  try {
    return parseSince(text, now).toISOString();
  } catch (err) {
    if (err instanceof DurationSyntaxError) throw usageError(`--since: ${err.message}`);
    throw err;
  }
}

/** `events --follow`: the stream, printed as it comes, until Ctrl-C (exit 0) or a refusal. */
async function followLog(ctx: CliContext, command: Command, opts: EventOptions): Promise<void> {
  if (opts.all || opts.limit !== undefined) {
    throw usageError("--follow streams the log; --all and --limit page it: give one or the other");
  }
  const api = await ctx.api(command);
  const { signal, dispose } = ctx.interruptSignal();
  try {
    await followEvents({
      api,
      query: { rack: opts.rack, since: sinceParam(opts.since, ctx.now()), after: opts.after },
      signal,
      onOpen: () => {
        if (!opts.json) ctx.out.print(eventFollowHeader(ctx.out.c));
      },
      onEvent: (event) => {
        if (opts.json) ctx.out.jsonLine(event);
        else ctx.out.print(eventFollowRow(event, ctx.out.c, ctx.now()));
      },
      onNotice: (text) => ctx.out.note(text),
    });
  } finally {
    dispose();
  }
}

/** Registers `fluxrig events` (= `events list`) and `fluxrig events verify`. */
export function registerEvents(program: Command, ctx: CliContext): void {
  // `list` is the default subcommand rather than an action on `events` itself: a parent that owns --json would
  // take it away from `events verify --json`.
  const events = program
    .command("events")
    .description("The audit log of decisions: read it, verify its hash chain");
  const list = events
    .command("list", { isDefault: true })
    .description("Read the audit log, oldest first (the default: `fluxrig events` is `fluxrig events list`)")
    .addOption(new Option("--rack <ref>", "only events of this Rack (name or entity id)").argParser(parseRef))
    .option(
      "--since <time>",
      "only events from then on: 10m, 2h, 1d (ago) or an ISO 8601 time (UTC if no offset)",
    )
    .addOption(new Option("--limit <n>", "page size, 1..1000 (default 100)").argParser(parseLimit))
    .addOption(
      new Option("--after <seq>", "only events after this seq (the `next` of a page)").argParser(parseSeq),
    )
    .option("--all", "fetch every page, not just the first")
    .option(
      "--follow",
      "keep printing events as they happen (after --after, from --since, else from now); Ctrl-C ends it",
    )
    .addOption(jsonOption("print the API's JSON body; with --follow one event per line"))
    .action(async (opts: EventOptions, command: Command) => {
      if (opts.follow) return followLog(ctx, command, opts);
      const query = {
        rack: opts.rack,
        since: sinceParam(opts.since, ctx.now()),
        limit: opts.limit ?? 100,
        after: opts.after,
      };
      const api = await ctx.api(command);
      const first = await api.get<AuditEventPage>("/api/v1/events", query);
      const page = opts.all
        ? await followPages(first, (after) => api.get<AuditEventPage>("/api/v1/events", { ...query, after }))
        : first;
      if (opts.json) return ctx.out.json(page);
      if (page.items.length === 0) ctx.out.note("no events match");
      else ctx.out.print(eventTable(page.items, ctx.out.c, ctx.now()));
      if (page.next !== null) ctx.out.note(`more events after seq ${page.next}: add --all, or raise --limit`);
    });
  withExamples(list, [
    "events",
    "events --rack rack-nyc-01 --since 2h",
    "events --since 2025-06-01T00:00:00Z --all --json",
    "events list --after 120 --limit 50",
    "events --follow",
    "events --follow --rack rack-nyc-01 --since 1h --json",
  ]);
  withExamples(events, ["events --since 1h", "events verify"]);

  const verify = events
    .command("verify")
    .description("Check the audit log's hash chain: exit 0 when unbroken, 1 naming the first broken link")
    .addOption(jsonOption())
    .action(async (opts: { json?: boolean }, command: Command) => {
      const result = await (await ctx.api(command)).get<AuditVerifyResult>("/api/v1/events/verify");
      if (opts.json) ctx.out.json(result);
      if (result.ok) {
        if (!opts.json) ctx.out.print(`audit log verified: ${result.count} events, chain unbroken`);
        return;
      }
      throw new CliError(
        "chain_broken",
        `audit log chain broken at event ${result.broken_at}: ${result.reason}`,
        {
          exitCode: EXIT.refused,
          notes: [`look at it: fluxrig events --after ${Math.max(0, result.broken_at - 2)} --limit 3 --json`],
        },
      );
    });
  withExamples(verify, ["events verify", "events verify --json"]);
}
