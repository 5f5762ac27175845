// `fluxrig racks`: list, show, adopt (one, several, or by pattern), reject, revoke, rm, replace, conflicts.
import { RACK_STATUSES } from "@fluxrig/wire";
import { type Command, Option } from "commander";
import type { ApiClient } from "../api-client.js";
import type {
  AuditEvent,
  BulkAdoptResult,
  NameConflict,
  Rack,
  RackPage,
  RackRemoved,
  RackReplaced,
} from "../api-types.js";
import {
  parseFingerprint,
  parseLimit,
  parsePattern,
  parsePrefix,
  parsePublicKey,
  parseRackName,
  parseRef,
} from "../arg-parsers.js";
import type { CliContext } from "../cli-context.js";
import { CliError, usageError } from "../cli-error.js";
import { jsonOption, reasonOption, withExamples } from "../command-kit.js";
import { followEvents } from "../event-follow.js";
import { EXIT } from "../exit-codes.js";
import { followPages } from "../paging.js";
import {
  bulkAdoptText,
  changedLine,
  conflictTable,
  rackChangeLine,
  rackDetail,
  rackHints,
  rackStatusAfter,
  rackTable,
  replacedText,
} from "../views/rack-views.js";
import { registerExpect } from "./racks-expect.js";

const rackPath = (ref: string) => `/api/v1/racks/${encodeURIComponent(ref)}`;
const refList = (v: string, prev: string[] = []) => [...prev, parseRef(v)];
const reasonBody = (reason: string | undefined) => (reason === undefined ? undefined : { reason });

interface ListOptions {
  status?: string;
  prefix?: string;
  limit?: number;
  all?: boolean;
  watch?: boolean;
  json?: boolean;
}

async function listRacks(api: ApiClient, opts: ListOptions): Promise<RackPage> {
  const query = { status: opts.status, prefix: opts.prefix, limit: opts.limit ?? (opts.all ? 1000 : 100) };
  const first = await api.get<RackPage>("/api/v1/racks", query);
  if (!opts.all) return first;
  return followPages(first, (after) => api.get<RackPage>("/api/v1/racks", { ...query, after }));
}

/**
 * `racks list --watch`: the stream is opened first (from now), then the list is read and printed, then each change.
 * A change made between the two shows in the list and again as a line: repeated, never missed.
 */
async function watchRacks(ctx: CliContext, command: Command, opts: ListOptions): Promise<void> {
  const api = await ctx.api(command);
  const { signal, dispose } = ctx.interruptSignal();
  const shown = (event: AuditEvent): boolean => {
    const after = rackStatusAfter(event);
    if (after === undefined || event.name === null) return false;
    if (opts.prefix !== undefined && !event.name.startsWith(opts.prefix)) return false;
    return opts.status === undefined || after === opts.status || event.from_status === opts.status;
  };
  try {
    await followEvents({
      api,
      query: {},
      signal,
      onOpen: async () => {
        const page = await listRacks(api, opts);
        if (opts.json) return ctx.out.jsonLine(page);
        if (page.items.length === 0) ctx.out.note("no Racks match (yet); watching");
        else ctx.out.print(rackTable(page.items, ctx.out.c, ctx.now()));
        if (page.next !== null) ctx.out.note(`more Racks after ${page.next}: add --all, or raise --limit`);
      },
      onEvent: (event) => {
        if (!shown(event)) return;
        if (opts.json) ctx.out.jsonLine(event);
        else ctx.out.print(rackChangeLine(event, ctx.out.c));
      },
      onNotice: (text) => ctx.out.note(text),
    });
  } finally {
    dispose();
  }
}

function registerList(racks: Command, ctx: CliContext): void {
  const cmd = racks
    .command("list")
    .description("List Racks, sorted by name")
    .addOption(new Option("--status <status>", "only Racks in this status").choices(RACK_STATUSES))
    .addOption(
      new Option("--prefix <prefix>", "only Racks whose name starts with this").argParser(parsePrefix),
    )
    .addOption(new Option("--limit <n>", "page size, 1..1000 (default 100)").argParser(parseLimit))
    .option("--all", "fetch every page, not just the first")
    .option("--watch", "after the list, print a line per change (enrolled, status, removed) until Ctrl-C")
    .addOption(jsonOption("print the API's JSON body; with --watch the page, then one event per line"))
    .action(async (opts: ListOptions, command: Command) => {
      if (opts.watch) return watchRacks(ctx, command, opts);
      const page = await listRacks(await ctx.api(command), opts);
      if (opts.json) return ctx.out.json(page);
      if (page.items.length === 0) ctx.out.note("no Racks match");
      else ctx.out.print(rackTable(page.items, ctx.out.c, ctx.now()));
      if (page.next !== null) {
        ctx.out.note(`more Racks after ${page.next}: add --all, or raise --limit`);
      }
    });
  withExamples(cmd, [
    "racks list",
    "racks list --status pending",
    "racks list --prefix rack-nyc- --all",
    "racks list --json | jq -r '.items[].name'",
    "racks list --watch",
    "racks list --watch --prefix rack-nyc- --json",
  ]);
}

function registerShow(racks: Command, ctx: CliContext): void {
  const cmd = racks
    .command("show")
    .description(
      "Show one Rack, with the evidence for a decision on a pending one and the health of each of its gears",
    )
    .argument("<ref>", "name, decimal entity id or 0x-hex entity id", parseRef)
    .addOption(jsonOption())
    .action(async (ref: string, opts: { json?: boolean }, command: Command) => {
      const rack = await (await ctx.api(command)).get<Rack>(rackPath(ref));
      if (opts.json) return ctx.out.json(rack);
      ctx.out.print(rackDetail(rack, ctx.out.c, ctx.now()));
      const hints = rackHints(rack);
      if (hints.length > 0) ctx.out.note(`\n${hints.join("\n")}`);
    });
  withExamples(cmd, [
    "racks show rack-nyc-01",
    "racks show 0x0300640000000000",
    "racks show 216282733276561408 --json",
  ]);
}

interface AdoptOptions {
  pattern?: string;
  expectKey?: string;
  dryRun?: boolean;
  reason?: string;
  json?: boolean;
}

async function adoptEach(opts: {
  api: ApiClient;
  ctx: CliContext;
  refs: string[];
  reason?: string | undefined;
  /** The key fingerprint the one Rack must have (`--expect-key`). */
  expectKey?: string | undefined;
  /** Called as each one is adopted, so lines and errors come out in order. */
  onAdopted: (rack: Rack) => void;
}): Promise<Rack[]> {
  const adopted: Rack[] = [];
  for (const ref of opts.refs) {
    try {
      const body =
        opts.expectKey === undefined
          ? reasonBody(opts.reason)
          : { ...reasonBody(opts.reason), expect_key: opts.expectKey };
      const rack = await opts.api.post<Rack>(`${rackPath(ref)}/adopt`, body);
      adopted.push(rack);
      opts.onAdopted(rack);
    } catch (err) {
      // A refusal of one Rack does not stop the others; losing the Mixer does.
      if (!(err instanceof CliError) || err.exitCode !== EXIT.refused) throw err;
      opts.ctx.out.error(err);
      opts.ctx.failLater(EXIT.refused);
    }
  }
  return adopted;
}

function registerAdopt(racks: Command, ctx: CliContext): void {
  const cmd = racks
    .command("adopt")
    .description("Adopt pending Racks: by refs (one request each), or by --pattern in one bulk request")
    .argument("[refs...]", "names or entity ids", refList)
    .addOption(
      new Option("--pattern <glob>", "adopt every pending Rack whose name matches").argParser(parsePattern),
    )
    .option("--dry-run", "say what would be adopted, change nothing (uses the bulk endpoint)")
    .addOption(
      new Option(
        "--expect-key <fingerprint>",
        "adopt only if the Rack's key has this fingerprint (SHA256:..., as racks show prints it)",
      ).argParser(parseFingerprint),
    )
    .addOption(reasonOption())
    .addOption(jsonOption())
    .action(async (refs: string[], opts: AdoptOptions, command: Command) => {
      const unique = [...new Set(refs)];
      if (
        opts.expectKey !== undefined &&
        (unique.length !== 1 || opts.pattern !== undefined || opts.dryRun)
      ) {
        throw usageError(
          "--expect-key names one key: give exactly one Rack ref, without --pattern or --dry-run",
          ["e.g. fluxrig racks adopt rack-nyc-01 --expect-key SHA256:..."],
        );
      }
      if (unique.length === 0 && opts.pattern === undefined) {
        throw usageError("give one or more Rack refs, or --pattern", [
          "e.g. fluxrig racks adopt rack-nyc-01",
        ]);
      }
      const api = await ctx.api(command);
      if (opts.pattern !== undefined || opts.dryRun) {
        const result = await api.post<BulkAdoptResult>("/api/v1/racks/adopt", {
          ...(unique.length > 0 ? { refs: unique } : {}),
          ...(opts.pattern !== undefined ? { pattern: opts.pattern } : {}),
          dry_run: opts.dryRun === true,
          ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
        });
        if (opts.json) ctx.out.json(result);
        else ctx.out.print(bulkAdoptText(result, ctx.out.c));
        // A ref the operator named and that was not adopted is a refusal; a pattern that matched nothing is not.
        if (result.skipped.length > 0) ctx.failLater(EXIT.refused);
        return;
      }
      const adopted = await adoptEach({
        api,
        ctx,
        refs: unique,
        reason: opts.reason,
        expectKey: opts.expectKey,
        onAdopted: (rack) => {
          if (!opts.json) ctx.out.print(changedLine(rack, ctx.out.c, ctx.now()));
        },
      });
      if (opts.json) ctx.out.json(adopted);
    });
  withExamples(cmd, [
    "racks adopt rack-nyc-01",
    "racks adopt rack-nyc-01 rack-nyc-02 --reason 'ticket OPS-42'",
    "racks adopt rack-nyc-01 --expect-key SHA256:B2xG4DZYvfOJb/FdI9...",
    "racks adopt --pattern 'rack-nyc-*' --dry-run",
    "racks adopt --pattern 'rack-nyc-*'",
    "# --json prints an array of the adopted Racks (by refs) or the bulk result (with --pattern/--dry-run)",
  ]);
}

function registerChange(racks: Command, ctx: CliContext, change: "reject" | "revoke"): void {
  const what =
    change === "reject"
      ? "Reject a Rack: its hellos are answered `rejected` and it is not queued again"
      : "Revoke a Rack's passport: it stops its gears and telemetry (idempotent)";
  const cmd = racks
    .command(change)
    .description(what)
    .argument("<ref>", "name, decimal entity id or 0x-hex entity id", parseRef)
    .addOption(reasonOption())
    .addOption(jsonOption())
    .action(async (ref: string, opts: { reason?: string; json?: boolean }, command: Command) => {
      const rack = await (await ctx.api(command)).post<Rack>(
        `${rackPath(ref)}/${change}`,
        reasonBody(opts.reason),
      );
      if (opts.json) return ctx.out.json(rack);
      ctx.out.print(changedLine(rack, ctx.out.c, ctx.now()));
    });
  withExamples(cmd, [
    `racks ${change} rack-nyc-07`,
    `racks ${change} 0x0300670000000000 --reason 'ticket OPS-43'`,
  ]);
}

function registerRemove(racks: Command, ctx: CliContext): void {
  const cmd = racks
    .command("rm")
    .description("Delete a Rack's row; asks first on a terminal")
    .argument("<ref>", "name, decimal entity id or 0x-hex entity id", parseRef)
    .option("-y, --yes", "do not ask (required when stdin is not a terminal)")
    .addOption(reasonOption())
    .addOption(jsonOption())
    .action(
      async (ref: string, opts: { yes?: boolean; reason?: string; json?: boolean }, command: Command) => {
        if (!opts.yes && !ctx.stdinIsTTY) {
          throw usageError(`refusing to delete ${ref} without --yes: stdin is not a terminal to ask on`);
        }
        const api = await ctx.api(command);
        if (!opts.yes) {
          const rack = await api.get<Rack>(rackPath(ref));
          const ok = await ctx.confirm(
            `Delete Rack ${rack.name} (${rack.entity_id_hex}, ${rack.status}, MachineID ${rack.machine_id})? It will have to enroll again.`,
          );
          if (!ok) throw new CliError("aborted", `${rack.name} was not deleted`, { exitCode: EXIT.refused });
        }
        const removed = await api.delete<RackRemoved>(rackPath(ref), reasonBody(opts.reason));
        if (opts.json) return ctx.out.json(removed);
        ctx.out.print(
          `deleted ${ctx.out.c.bold(removed.name)} (${removed.entity_id}, MachineID ${removed.machine_id})`,
        );
      },
    );
  withExamples(cmd, ["racks rm rack-nyc-07", "racks rm 0x0300670000000000 --yes --reason 'decommissioned'"]);
}

function registerReplace(racks: Command, ctx: CliContext): void {
  const cmd = racks
    .command("replace")
    .description("Hand a Rack name to the key that claimed it (a rebuilt machine); the old key is revoked")
    .argument("<name>", "the Rack name (not an id)", parseRackName)
    .addOption(
      new Option(
        "--public-key <key>",
        "the claiming key (base64url); default: the newest conflict",
      ).argParser(parsePublicKey),
    )
    .option("--keep-machine-id", "the new key keeps the old MachineID")
    .addOption(reasonOption())
    .addOption(jsonOption())
    .action(
      async (
        name: string,
        opts: { publicKey?: string; keepMachineId?: boolean; reason?: string; json?: boolean },
        command: Command,
      ) => {
        const result = await (await ctx.api(command)).post<RackReplaced>(`${rackPath(name)}/replace`, {
          keep_machine_id: opts.keepMachineId === true,
          ...(opts.publicKey !== undefined ? { public_key: opts.publicKey } : {}),
          ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
        });
        if (opts.json) return ctx.out.json(result);
        ctx.out.print(replacedText(result, ctx.out.c, ctx.now()));
      },
    );
  withExamples(cmd, [
    "racks conflicts rack-nyc-01      # see who claims the name first",
    "racks replace rack-nyc-01",
    "racks replace rack-nyc-01 --public-key bmV3LWtleS0uLi4 --keep-machine-id --reason 'disk replaced'",
  ]);
}

function registerConflicts(racks: Command, ctx: CliContext): void {
  const cmd = racks
    .command("conflicts")
    .description("List other keys that claimed a taken name")
    .argument("[name]", "only this Rack name", parseRackName)
    .addOption(jsonOption())
    .action(async (name: string | undefined, opts: { json?: boolean }, command: Command) => {
      const body = await (await ctx.api(command)).get<{ items: NameConflict[] }>("/api/v1/conflicts", {
        name,
      });
      if (opts.json) return ctx.out.json(body);
      if (body.items.length === 0) ctx.out.note(name ? `no conflicts for ${name}` : "no name conflicts");
      else ctx.out.print(conflictTable(body.items, ctx.out.c, ctx.now()));
    });
  withExamples(cmd, ["racks conflicts", "racks conflicts rack-nyc-01 --json"]);
}

/** Registers `fluxrig racks ...`. */
export function registerRacks(program: Command, ctx: CliContext): void {
  const racks = program.command("racks").description("List, inspect and decide on Racks");
  registerList(racks, ctx);
  registerShow(racks, ctx);
  registerAdopt(racks, ctx);
  registerExpect(racks, ctx);
  registerChange(racks, ctx, "reject");
  registerChange(racks, ctx, "revoke");
  registerRemove(racks, ctx);
  registerReplace(racks, ctx);
  registerConflicts(racks, ctx);
  withExamples(racks, ["racks list --status pending", "racks show rack-nyc-01", "racks adopt rack-nyc-01"]);
}
