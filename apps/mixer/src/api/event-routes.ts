// The audit log of decisions: paged reads and a check of its hash chain.
import { AuditEventPageSchema, AuditVerifyResultSchema } from "@fluxrig/wire";
import type { AuditOperations } from "../fleet/operations.js";
import { type ApiApp, type RouteKit, reply } from "./api-route.js";
import { EventQuery } from "./schemas.js";

const TAG = "events";

/** The audit routes, bound to the audit operations. */
export function eventRoutes(app: ApiApp, kit: RouteKit, audit: AuditOperations): void {
  const listEvents = kit.route({
    method: "get",
    path: "/api/v1/events",
    operationId: "listEvents",
    summary: "Read the audit log",
    description:
      "Oldest first. Filter by Rack (`rack` is a ref) and time (`since`, ISO 8601). Pass `next` as `after` " +
      "for the next page; `next` is null when the page is not full.",
    tag: TAG,
    auth: "api",
    query: EventQuery,
    response: { schema: AuditEventPageSchema, description: "One page of events" },
    errors: ["not_found", "unknown_rack"],
    examples: { rack: "rack-nyc-01", since: "2025-01-01T00:00:00Z", limit: 100 },
  });
  app.openapi(listEvents, async (c) => {
    const query = c.req.valid("query");
    const items = await audit.list({
      rack: query.rack,
      since: query.since === undefined ? undefined : new Date(query.since),
      limit: query.limit,
      afterSeq: query.after === undefined ? undefined : Number(query.after),
    });
    // A full page may have a successor; a short one is the end. One extra empty page is the price.
    const last = items[items.length - 1];
    const next = items.length === query.limit && last !== undefined ? String(last.seq) : null;
    return reply(c, listEvents, { items, next });
  });

  const verifyEvents = kit.route({
    method: "get",
    path: "/api/v1/events/verify",
    operationId: "verifyEvents",
    summary: "Verify the audit log's hash chain",
    description: "`ok: false` names the first event whose hash does not follow from its predecessor.",
    tag: TAG,
    auth: "api",
    response: { schema: AuditVerifyResultSchema, description: "The outcome (200 either way)" },
  });
  app.openapi(verifyEvents, async (c) => reply(c, verifyEvents, await audit.verify()));
}
