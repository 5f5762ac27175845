// Racks: list, show, adopt (one or many), reject, revoke, delete, hand a name to a new key, name conflicts.
import type { WireErrorCode } from "@fluxrig/wire";
import type { RackOperations } from "../fleet/operations.js";
import { type ApiRoute, defineRoute } from "./route-spec.js";
import {
  BulkAdoptBody,
  BulkAdoptResponse,
  ConflictListResponse,
  ConflictQuery,
  NameParams,
  RackListQuery,
  RackPageResponse,
  RackRemovedResponse,
  RackReplacedResponse,
  RackSchema,
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

type Change = "adopt" | "reject" | "revoke";

const CHANGE_DOCS: Record<Change, string> = {
  adopt: "Adopt a pending (or offline-pending) Rack: it gets its passport and starts its gear runtime.",
  reject: "Refuse a Rack: its hellos are answered `rejected` and it is not queued again.",
  revoke: "Withdraw a Rack's passport: it stops its gear runtime and telemetry.",
};

function changeRoute(racks: RackOperations, change: Change): ApiRoute {
  return defineRoute({
    method: "post",
    path: `/api/v1/racks/{ref}/${change}`,
    operationId: `${change}Rack`,
    summary: `${change[0]!.toUpperCase()}${change.slice(1)} a Rack`,
    description: CHANGE_DOCS[change],
    tag: TAG,
    auth: "api",
    params: RefParams,
    body: { schema: StateChangeBody, required: false },
    response: { schema: RackSchema, description: "The Rack after the change" },
    errors: CHANGE_ERRORS,
    example: { params: { ref: "rack-nyc-01" }, body: { reason: "ticket OPS-42" } },
    handle: ({ params, body, actor }) => racks[change](params.ref, { actor, reason: body.reason }),
  });
}

/** The Rack routes, bound to the registry's operations. */
export function rackRoutes(racks: RackOperations): ApiRoute[] {
  return [
    defineRoute({
      method: "get",
      path: "/api/v1/racks",
      operationId: "listRacks",
      summary: "List Racks",
      description:
        "Ordered by name. Pass `next` as `after` to get the next page; `next` is null on the last page. Served " +
        "from the Mixer's memory: a Rack is listed once its enrollment is answered, and its hello and heartbeat " +
        "facts are current.",
      tag: TAG,
      auth: "api",
      query: RackListQuery,
      response: { schema: RackPageResponse, description: "One page of Racks" },
      example: { query: { status: "pending", limit: "50" } },
      handle: ({ query }) =>
        racks.list({
          status: query.status,
          namePrefix: query.prefix,
          limit: query.limit,
          after: query.after,
        }),
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/racks/{ref}",
      operationId: "showRack",
      summary: "Show one Rack",
      description: "`ref` is a name, a decimal entity id or a 0x-hex entity id.",
      tag: TAG,
      auth: "api",
      params: RefParams,
      response: {
        schema: RackSchema,
        description: "The Rack, with the evidence for a decision when pending",
      },
      errors: ["not_found", "unknown_rack"],
      example: { params: { ref: RACK } },
      handle: ({ params }) => racks.show(params.ref),
    }),
    changeRoute(racks, "adopt"),
    changeRoute(racks, "reject"),
    changeRoute(racks, "revoke"),
    defineRoute({
      method: "delete",
      path: "/api/v1/racks/{ref}",
      operationId: "removeRack",
      summary: "Delete a Rack",
      description:
        "Removes the row; its MachineID is not reused while a passport naming it could still be valid.",
      tag: TAG,
      auth: "api",
      params: RefParams,
      body: { schema: StateChangeBody, required: false },
      response: { schema: RackRemovedResponse, description: "What was removed" },
      errors: CHANGE_ERRORS,
      example: { params: { ref: "0x0300640000000000" } },
      handle: ({ params, body, actor }) => racks.remove(params.ref, { actor, reason: body.reason }),
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/racks/adopt",
      operationId: "adoptRacks",
      summary: "Adopt many Racks",
      description: "By refs, by a glob over names (`*`, `?`), or both. `dry_run` says what would be adopted.",
      tag: TAG,
      auth: "api",
      body: { schema: BulkAdoptBody, required: true },
      response: {
        schema: BulkAdoptResponse,
        description: "Adopted and skipped Racks, each skip with its code",
      },
      errors: ["conflict"],
      example: { body: { pattern: "rack-nyc-*", dry_run: true } },
      handle: ({ body, actor }) =>
        racks.adoptMany({
          actor,
          reason: body.reason,
          refs: body.refs,
          pattern: body.pattern,
          dryRun: body.dry_run,
        }),
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/racks/{name}/replace",
      operationId: "replaceRack",
      summary: "Hand a Rack name to a new key",
      description:
        "For a rebuilt machine: the key that claimed the name (the newest conflict, or `public_key`) gets it and " +
        "the old key is revoked. `keep_machine_id` keeps the MachineID.",
      tag: TAG,
      auth: "api",
      params: NameParams,
      body: { schema: ReplaceBody, required: false },
      response: { schema: RackReplacedResponse, description: "The old and the new Rack" },
      errors: ["not_found", "unknown_rack", "conflict", "invalid_transition", "registry_full"],
      example: { params: { name: "rack-nyc-01" }, body: { keep_machine_id: true, reason: "disk replaced" } },
      handle: ({ params, body, actor }) =>
        racks.replace(params.name, {
          actor,
          reason: body.reason,
          publicKey: body.public_key,
          keepMachineId: body.keep_machine_id,
        }),
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/conflicts",
      operationId: "listConflicts",
      summary: "List name conflicts",
      description: "Other keys that claimed a taken name: the operator's evidence before a replace.",
      tag: TAG,
      auth: "api",
      query: ConflictQuery,
      response: { schema: ConflictListResponse, description: "Conflicts, newest last" },
      example: { query: { name: "rack-nyc-01" } },
      handle: async ({ query }) => ({ items: await racks.conflicts(query.name) }),
    }),
  ];
}
