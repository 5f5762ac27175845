// Racks: list, show, adopt (one or many), reject, revoke, delete, hand a name to a new key, name conflicts.
import {
  BulkAdoptResultSchema,
  RackPageSchema,
  RackRemovedSchema,
  RackReplacedSchema,
  RackViewSchema,
  type WireErrorCode,
} from "@fluxrig/wire";
import type { RackOperations } from "../fleet/operations.js";
import { type ApiApp, actorOf, type RouteKit, readBody, reply } from "./api-route.js";
import {
  AdoptBody,
  BulkAdoptBody,
  ConflictListResponse,
  ConflictQuery,
  NameParams,
  RackListQuery,
  RefParams,
  ReplaceBody,
  StateChangeBody,
} from "./schemas.js";

const TAG = "racks";
const RACK = "216282733276561408";
/** What a lifecycle change on one Rack can be refused with. */
const CHANGE_ERRORS: readonly WireErrorCode[] = [
  "not_found",
  "unknown_rack",
  "invalid_transition",
  "conflict",
];
const CHANGE_BODY = {
  schema: StateChangeBody,
  required: false,
  example: { reason: "ticket OPS-42" },
} as const;

const ADOPT_BODY = {
  schema: AdoptBody,
  required: false,
  example: { reason: "ticket OPS-42" },
} as const;

const REMOVE_BODY = { schema: StateChangeBody, required: false } as const;

const CHANGE_DOCS = {
  adopt: "Adopt a pending (or offline-pending) Rack: it gets its passport and starts its gear runtime.",
  reject: "Refuse a Rack: its hellos are answered `rejected` and it is not queued again.",
  revoke: "Withdraw a Rack's passport: it stops its gear runtime and telemetry.",
} as const;

/** The Rack routes, bound to the registry's operations. */
export function rackRoutes(app: ApiApp, kit: RouteKit, racks: RackOperations): void {
  const listRacks = kit.route({
    method: "get",
    path: "/api/v1/racks",
    operationId: "listRacks",
    summary: "List Racks",
    description:
      "Ordered by name. Pass `next` as `after` to get the next page; `next` is null on the last page. Served " +
      "from the Mixer's memory: a Rack is listed once its enrollment is answered, and its hello and heartbeat " +
      "facts are current.",
    tag: TAG,
    auth: "viewer",
    query: RackListQuery,
    response: { schema: RackPageSchema, description: "One page of Racks" },
    examples: { status: "pending", limit: 50 },
  });
  app.openapi(listRacks, async (c) => {
    const query = c.req.valid("query");
    const page = await racks.list({
      status: query.status,
      namePrefix: query.prefix,
      limit: query.limit,
      after: query.after,
    });
    return reply(c, listRacks, page);
  });

  const showRack = kit.route({
    method: "get",
    path: "/api/v1/racks/{ref}",
    operationId: "showRack",
    summary: "Show one Rack",
    description: "`ref` is a name, a decimal entity id or a 0x-hex entity id.",
    tag: TAG,
    auth: "viewer",
    params: RefParams,
    response: {
      schema: RackViewSchema,
      description: "The Rack, with the evidence for a decision when pending",
    },
    errors: ["not_found", "unknown_rack"],
    examples: { ref: RACK },
  });
  app.openapi(showRack, async (c) => reply(c, showRack, await racks.show(c.req.valid("param").ref)));

  // Adopting and rejecting are an operator's daily work; revoking cuts a live Rack off, so it is an admin's.
  const changeRole = { adopt: "operator", reject: "operator", revoke: "admin" } as const;
  for (const change of ["adopt", "reject", "revoke"] as const) {
    const route = kit.route({
      method: "post",
      path: `/api/v1/racks/{ref}/${change}`,
      operationId: `${change}Rack`,
      summary: `${change[0]!.toUpperCase()}${change.slice(1)} a Rack`,
      description: CHANGE_DOCS[change],
      tag: TAG,
      auth: changeRole[change],
      params: RefParams,
      body: change === "adopt" ? ADOPT_BODY : CHANGE_BODY,
      response: { schema: RackViewSchema, description: "The Rack after the change" },
      errors: CHANGE_ERRORS,
      examples: { ref: "rack-nyc-01" },
    });
    app.openapi(route, async (c) => {
      const ref = c.req.valid("param").ref;
      if (change === "adopt") {
        const { reason, expect_key } = await readBody(c, ADOPT_BODY);
        const by = { actor: actorOf(c), reason };
        return reply(
          c,
          route,
          await racks.adopt(ref, by, expect_key === undefined ? {} : { expectKey: expect_key }),
        );
      }
      const { reason } = await readBody(c, CHANGE_BODY);
      return reply(c, route, await racks[change](ref, { actor: actorOf(c), reason }));
    });
  }

  const removeRack = kit.route({
    method: "delete",
    path: "/api/v1/racks/{ref}",
    operationId: "removeRack",
    summary: "Delete a Rack",
    description:
      "Removes the row; its MachineID is not reused while a passport naming it could still be valid.",
    tag: TAG,
    auth: "admin",
    params: RefParams,
    body: REMOVE_BODY,
    response: { schema: RackRemovedSchema, description: "What was removed" },
    errors: CHANGE_ERRORS,
    examples: { ref: "0x0300640000000000" },
  });
  app.openapi(removeRack, async (c) => {
    const { reason } = await readBody(c, REMOVE_BODY);
    return reply(c, removeRack, await racks.remove(c.req.valid("param").ref, { actor: actorOf(c), reason }));
  });

  const adoptBody = {
    schema: BulkAdoptBody,
    required: true,
    example: { pattern: "rack-nyc-*", dry_run: true },
  } as const;
  const adoptRacks = kit.route({
    method: "post",
    path: "/api/v1/racks/adopt",
    operationId: "adoptRacks",
    summary: "Adopt many Racks",
    description: "By refs, by a glob over names (`*`, `?`), or both. `dry_run` says what would be adopted.",
    tag: TAG,
    auth: "operator",
    body: adoptBody,
    response: {
      schema: BulkAdoptResultSchema,
      description: "Adopted and skipped Racks, each skip with its code",
    },
    errors: ["conflict"],
  });
  app.openapi(adoptRacks, async (c) => {
    const body = await readBody(c, adoptBody);
    const result = await racks.adoptMany({
      actor: actorOf(c),
      reason: body.reason,
      refs: body.refs,
      pattern: body.pattern,
      dryRun: body.dry_run,
    });
    return reply(c, adoptRacks, result);
  });

  const replaceBody = {
    schema: ReplaceBody,
    required: false,
    example: { keep_machine_id: true, reason: "disk replaced" },
  } as const;
  const replaceRack = kit.route({
    method: "post",
    path: "/api/v1/racks/{name}/replace",
    operationId: "replaceRack",
    summary: "Hand a Rack name to a new key",
    description:
      "For a rebuilt machine: the key that claimed the name (the newest conflict, or `public_key`) gets it and " +
      "the old key is revoked. `keep_machine_id` keeps the MachineID.",
    tag: TAG,
    auth: "admin",
    params: NameParams,
    body: replaceBody,
    response: { schema: RackReplacedSchema, description: "The old and the new Rack" },
    errors: ["not_found", "unknown_rack", "conflict", "invalid_transition", "registry_full"],
    examples: { name: "rack-nyc-01" },
  });
  app.openapi(replaceRack, async (c) => {
    const body = await readBody(c, replaceBody);
    const replaced = await racks.replace(c.req.valid("param").name, {
      actor: actorOf(c),
      reason: body.reason,
      publicKey: body.public_key,
      keepMachineId: body.keep_machine_id,
    });
    return reply(c, replaceRack, replaced);
  });

  const listConflicts = kit.route({
    method: "get",
    path: "/api/v1/conflicts",
    operationId: "listConflicts",
    summary: "List name conflicts",
    description: "Other keys that claimed a taken name: the operator's evidence before a replace.",
    tag: TAG,
    auth: "viewer",
    query: ConflictQuery,
    response: { schema: ConflictListResponse, description: "Conflicts, newest last" },
    examples: { name: "rack-nyc-01" },
  });
  app.openapi(listConflicts, async (c) =>
    reply(c, listConflicts, { items: await racks.conflicts(c.req.valid("query").name) }),
  );
}
