// Operator actions on Racks (Path C): adopt, reject, revoke, remove, replace, with refs by name or entity id.
//
// Racks are read from the in-memory RackDirectory (never DuckDB): it changes only when a write commits, so a Rack
// is listed as soon as its enrollment is answered and gone as soon as its deletion is, with its hello facts
// (count, source, version, last hello) current rather than as of the last flush. Heartbeat facts (last seen,
// stats) come from presence, which holds them before its batched flush.
import { formatEntityIdHex, parseEntityId } from "@fluxrig/entity-id";
import {
  type BulkAdoptResult,
  looksLikeEntityId,
  type NameConflictView,
  type RackPage,
  type RackView,
} from "@fluxrig/wire";
import type { Db } from "../db/duckdb-database.js";
import { notFoundWithSuggestions } from "../errors/name-suggestions.js";
import { OperationError, refusalOf } from "../errors/wire-refusal.js";
import { listNameConflicts } from "../registry/name-conflicts.js";
import { nameMatchesPattern } from "../registry/name-pattern.js";
import type { RackDirectory } from "../registry/rack-directory.js";
import type { ListRacksQuery } from "../registry/rack-queries.js";
import type { RackRecord } from "../registry/registry-records.js";
import { type Clock, systemClock } from "../runtime/counters.js";
import type { Actor, BulkAdoptRequest, RackOperations } from "./operations.js";
import type { RackStatusChanges } from "./rack-status-changes.js";
import {
  type LiveFacts,
  liveFacts,
  type PresenceFacts,
  rackKeyFingerprint,
  toConflictView,
  toRackView,
} from "./rack-view.js";

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export interface RackOperationsDeps {
  db: Db;
  lifecycle: RackStatusChanges;
  /** The Racks as committed (plus unflushed hello facts): every read of a Rack goes here. */
  directory: RackDirectory;
  /** Heartbeat facts not yet flushed; without it, last seen and stats are the directory's. */
  presence?: PresenceFacts;
  /** The Mixer's clock, for whether a pending Rack is stale (default: the system clock). */
  clock?: Clock;
}

export class RackOperationsService implements RackOperations {
  readonly #db: Db;
  readonly #lifecycle: RackStatusChanges;
  readonly #directory: RackDirectory;
  readonly #presence: PresenceFacts | undefined;
  readonly #clock: Clock;

  constructor(deps: RackOperationsDeps) {
    this.#db = deps.db;
    this.#lifecycle = deps.lifecycle;
    this.#directory = deps.directory;
    this.#presence = deps.presence;
    this.#clock = deps.clock ?? systemClock;
  }

  async list(query: ListRacksQuery): Promise<RackPage> {
    // The API caps `limit` at 1000; the directory refuses anything outside 1..10000.
    const page = this.#directory.page({
      limit: query.limit,
      ...(query.status ? { status: query.status } : {}),
      ...(query.namePrefix ? { namePrefix: query.namePrefix } : {}),
      ...(query.after ? { after: query.after } : {}),
    });
    return { items: page.racks.map((r) => this.#view(r)), next: page.nextAfter };
  }

  async show(ref: string): Promise<RackView> {
    const rack = await this.resolve(ref);
    const conflicts = await listNameConflicts(this.#db, rack.name);
    // The conflicts were read from the database meanwhile: show the Rack as it is now, if it still is.
    const current = this.#directory.rack(rack.entityId) ?? rack;
    return toRackView(current, conflicts, this.#live(current));
  }

  async adopt(ref: string, by: Actor, opts: { expectKey?: string } = {}): Promise<RackView> {
    const rack = await this.resolve(ref);
    if (opts.expectKey !== undefined) {
      // The entity id binds the key (a new key is a new row), so the Rack activated below has the key checked here.
      const actual = rackKeyFingerprint(rack.lifecycle.publicKey);
      if (actual !== opts.expectKey) {
        throw new OperationError(
          "conflict",
          `${rack.name}'s key is ${actual}, not the expected ${opts.expectKey}; nothing was adopted (check racks show and racks conflicts)`,
          { key_fingerprint: actual, expected_key: opts.expectKey },
        );
      }
    }
    // Already adopted: said so in the answer (`unchanged`), so the operator does not read it as a fresh adoption.
    if (rack.status === "active" || rack.status === "offline")
      return { ...this.#view(rack), unchanged: true };
    if (rack.status === "rejected") {
      throw new OperationError(
        "invalid_transition",
        `${rack.name} was rejected; remove it (racks rm) to let it enroll again`,
        {
          from: rack.status,
          to: "active",
        },
      );
    }
    const { rack: adopted } = await this.#lifecycle.activate(rack, {
      ...reason("operator", by),
      kind: "issued",
    });
    return this.#view(adopted);
  }

  async adoptMany(request: BulkAdoptRequest): Promise<BulkAdoptResult> {
    const targets = new Map<string, RackRecord>();
    const skipped: BulkAdoptResult["skipped"] = [];
    for (const ref of request.refs ?? []) {
      try {
        const rack = this.resolveNow(ref);
        targets.set(rack.name, rack);
      } catch (err) {
        skipped.push({
          ref,
          reason: (err as Error).message,
          code: refusalOf(err)?.code ?? "internal",
        });
      }
    }
    if (request.pattern) {
      const pattern = request.pattern;
      for (const rack of this.#directory.racksByName()) {
        if (rack.status === "pending" && nameMatchesPattern(pattern, rack.name)) targets.set(rack.name, rack);
      }
    }
    const adopted: BulkAdoptResult["adopted"] = [];
    const eligible: RackRecord[] = [];
    for (const rack of targets.values()) {
      if (rack.status !== "pending" && rack.status !== "revoked") {
        skipped.push({
          ref: rack.name,
          reason: `already ${rack.status}`,
          code: rack.status === "rejected" ? "invalid_transition" : "conflict",
        });
        continue;
      }
      eligible.push(rack);
    }
    // One submission: the registry writer plans every activation (status, signed passport, audit events) in one
    // batch and commits them in one transaction; each is still refused on its own.
    const results = request.dryRun
      ? eligible.map(() => ({ ok: true as const }))
      : await this.#lifecycle.activateMany(eligible, { ...reason("operator", request), kind: "issued" });
    results.forEach((result, i) => {
      const rack = eligible[i]!;
      if (result.ok) {
        adopted.push({ name: rack.name, entity_id: rack.entityId.toString(), from: rack.status });
      } else {
        const err = result.error as Error;
        skipped.push({
          ref: rack.name,
          reason: err.message,
          code: refusalOf(err)?.code ?? "internal",
        });
      }
    });
    return { dry_run: request.dryRun, adopted, skipped };
  }

  async reject(ref: string, by: Actor): Promise<RackView> {
    const rack = await this.resolve(ref);
    if (rack.status === "rejected") return { ...this.#view(rack), unchanged: true };
    return this.#view(await this.#change(rack, "rejected", by));
  }

  async revoke(ref: string, by: Actor): Promise<RackView> {
    const rack = await this.resolve(ref);
    if (rack.status === "revoked") return { ...this.#view(rack), unchanged: true };
    return this.#view(await this.#change(rack, "revoked", by));
  }

  async remove(ref: string, by: Actor): Promise<{ name: string; entity_id: string; machine_id: number }> {
    const rack = await this.resolve(ref);
    await this.#lifecycle.remove(rack, reason("operator", by));
    return { name: rack.name, entity_id: rack.entityId.toString(), machine_id: rack.machineId };
  }

  async replace(
    name: string,
    opts: Actor & { publicKey?: string; keepMachineId: boolean },
  ): Promise<{ old: RackView; new: RackView }> {
    const old = await this.resolve(name);
    const conflicts = await listNameConflicts(this.#db, old.name);
    const claim = opts.publicKey
      ? conflicts.find((c) => c.claimedPublicKey === opts.publicKey)
      : [...conflicts].sort((a, b) => b.lastAt.getTime() - a.lastAt.getTime())[0];
    if (!claim) {
      throw new OperationError(
        "not_found",
        `no other key has claimed ${old.name}${opts.publicKey ? " with that public key" : ""}`,
      );
    }
    if (this.#directory.rackByPublicKey(claim.claimedPublicKey)) {
      throw new OperationError("conflict", "that key already holds another Rack");
    }
    const why = reason("operator", opts);
    // One transaction through the lifecycle: revoke and remove the old Rack, enroll the claiming key under its name.
    const created = await this.#lifecycle.replace(old, {
      publicKey: claim.claimedPublicKey,
      source: claim.lastSource,
      attributes: claim.lastAttributes,
      version: claim.lastVersion,
      keepMachineId: opts.keepMachineId,
      why,
    });
    const { rack: adopted } = await this.#lifecycle.activate(created, {
      ...why,
      cause: "replaced",
      kind: "issued",
    });
    return { old: this.#view({ ...old, status: "revoked" }), new: this.#view(adopted) };
  }

  async conflicts(name?: string): Promise<NameConflictView[]> {
    return (await listNameConflicts(this.#db, name)).map(toConflictView);
  }

  /** A name, a decimal entity id or a 0x-hex one. */
  async resolve(ref: string): Promise<RackRecord> {
    return this.resolveNow(ref);
  }

  /** {@link resolve} without the promise: the directory answers at once. */
  resolveNow(ref: string): RackRecord {
    const trimmed = ref.trim();
    let rack: RackRecord | undefined;
    if (looksLikeEntityId(trimmed)) {
      // Every digits-only or 0x-hex ref is an entity id: too long or out of range is an error, never a name lookup.
      let id: bigint;
      try {
        id = parseEntityId(trimmed);
      } catch (err) {
        throw new OperationError("bad_request", `not a valid entity id: ${(err as Error).message}`);
      }
      rack = this.#directory.rack(id);
      // Such names are refused at enrollment (name_reserved); a Rack that took one before may still hold it.
      const named = NAME.test(trimmed) ? this.#directory.rackByName(trimmed) : undefined;
      if (rack && named && named !== rack) {
        throw new OperationError(
          "bad_request",
          `${trimmed} is ambiguous: it is the entity id of ${rack.name} and the name of another Rack; use that ` +
            `Rack's entity id (${formatEntityIdHex(named.entityId)}) instead`,
        );
      }
      rack ??= named;
    } else if (NAME.test(trimmed)) {
      rack = this.#directory.rackByName(trimmed);
    } else {
      throw new OperationError(
        "bad_request",
        "a Rack ref is a name (lowercase DNS label), a decimal or a 0x-hex entity id",
      );
    }
    if (rack) return rack;
    if (looksLikeEntityId(trimmed)) throw new OperationError("not_found", `no Rack ${trimmed}`);
    // A typo'd name: say which names are close, if any.
    const { message, details } = notFoundWithSuggestions(`no Rack ${trimmed}`, trimmed, this.#names());
    throw new OperationError("not_found", message, details);
  }

  *#names(): Generator<string> {
    for (const rack of this.#directory.racksByName()) yield rack.name;
  }

  /** The operator's view of a Rack as it is now: its record, with presence's newer last seen and stats. */
  #view(rack: RackRecord): RackView {
    return toRackView(rack, undefined, this.#live(rack));
  }

  #live(rack: RackRecord): LiveFacts {
    return liveFacts(rack, this.#presence, this.#clock().getTime());
  }

  /** An illegal transition is refused `invalid_transition` by the one mapping (errors/wire-refusal.ts). */
  async #change(rack: RackRecord, to: "rejected" | "revoked", by: Actor): Promise<RackRecord> {
    return await this.#lifecycle.setStatus(rack, to, reason("operator", by));
  }
}

function reason(cause: string, by: Actor) {
  return { cause, actor: by.actor, ...(by.reason ? { details: { reason: by.reason } } : {}) };
}
