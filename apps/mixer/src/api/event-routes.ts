// The audit log of decisions: paged reads, a live stream (Server-Sent Events) and a check of its hash chain.
import { AuditEventPageSchema, AuditVerifyResultSchema } from "@fluxrig/wire";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { OperationError } from "../errors/wire-refusal.js";
import type { AuditOperations } from "../fleet/operations.js";
import { type ApiApp, type RouteKit, reply } from "./api-route.js";
import { EventQuery, EventStreamQuery } from "./schemas.js";

const TAG = "events";

/** A comment line this often keeps proxies and load balancers from closing a quiet stream. */
export const KEEP_ALIVE_MS = 15_000;

/** The cursor of a stream: `Last-Event-ID` (what a reconnecting client sends) wins over `after`. */
function streamCursor(lastEventId: string | undefined, after: string | undefined): number | undefined {
  if (lastEventId === undefined || lastEventId.trim() === "")
    return after === undefined ? undefined : Number(after);
  if (!/^[0-9]{1,15}$/.test(lastEventId.trim())) {
    throw new OperationError("malformed", "invalid Last-Event-ID: expected an event seq");
  }
  return Number(lastEventId.trim());
}

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
    auth: "viewer",
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

  const streamEvents = kit.route({
    method: "get",
    path: "/api/v1/events/stream",
    operationId: "streamEvents",
    summary: "Follow the audit log as it is written (Server-Sent Events)",
    description:
      "A `text/event-stream` that stays open. It begins with `id: <cursor>` (no data), then sends each event after " +
      "the cursor as one message: `id: <seq>`, `event: audit`, `data: <the event as GET /api/v1/events gives it>`; " +
      "first the backlog, then events as they are committed, in seq order, none twice. The cursor is the " +
      "`Last-Event-ID` header if sent, else `after`, else (with `since`) the start of the log, else now. A comment " +
      `line every ${KEEP_ALIVE_MS / 1000} s keeps proxies from closing it. A client that reconnects with the last ` +
      "id it received misses nothing. At most 64 streams are open at once; more are refused 503 `unavailable`, as " +
      "is a new stream while the Mixer stops. The stream of a named token that is revoked ends at its next event or " +
      "keep-alive.",
    tag: TAG,
    auth: "viewer",
    query: EventStreamQuery,
    response: {
      schema: z.string().meta({ description: "Server-Sent Events; each `data` is an AuditEvent as JSON" }),
      description: "The stream, open until the client or the Mixer ends it",
      mediaType: "text/event-stream",
    },
    errors: ["not_found", "unknown_rack", "unavailable"],
    examples: { rack: "rack-nyc-01", since: "2025-01-01T00:00:00Z", after: "120" },
  });
  app.openapi(streamEvents, async (c) => {
    const query = c.req.valid("query");
    const afterSeq = streamCursor(c.req.header("last-event-id"), query.after);
    // Refusals (unknown Rack, too many streams) happen here, before the 200 and the stream begin.
    const follow = await audit.follow({
      ...(query.rack === undefined ? {} : { rack: query.rack }),
      ...(query.since === undefined ? {} : { since: new Date(query.since) }),
      ...(afterSeq === undefined ? {} : { afterSeq }),
    });
    c.header("X-Accel-Buffering", "no");
    const response = streamSSE(c, async (stream) => {
      stream.onAbort(() => follow.close());
      // Ended by the Mixer (stopping, or this client too slow to keep up): a write waiting on a client that does not
      // read must not hold the Mixer's stop. The client resumes from the last whole message it received.
      follow.signal.addEventListener("abort", () => stream.abort(), { once: true });
      try {
        // The cursor first: it sends the headers now, and a client that drops before any event resumes from it.
        await stream.write(`id: ${follow.after}\n\n`);
        for (;;) {
          const events = await follow.next(KEEP_ALIVE_MS);
          if (events === null || stream.aborted) break;
          // A revoked token's stream ends at its next event or keep-alive: it reads nothing committed after that.
          if (c.get("principal")?.stillValid() === false) break;
          if (events.length === 0) await stream.write(": keep-alive\n\n");
          for (const event of events) {
            await stream.writeSSE({ id: String(event.seq), event: "audit", data: JSON.stringify(event) });
          }
        }
      } catch {
        // A failed read ends this stream; its client reconnects with its last id and misses nothing.
      } finally {
        follow.close();
      }
    });
    // The handler's type wants the documented JSON body; a stream is the documented text/event-stream instead.
    return response as unknown as ReturnType<typeof reply>;
  });

  const verifyEvents = kit.route({
    method: "get",
    path: "/api/v1/events/verify",
    operationId: "verifyEvents",
    summary: "Verify the audit log's hash chain",
    description: "`ok: false` names the first event whose hash does not follow from its predecessor.",
    tag: TAG,
    auth: "viewer",
    response: { schema: AuditVerifyResultSchema, description: "The outcome (200 either way)" },
  });
  app.openapi(verifyEvents, async (c) => reply(c, verifyEvents, await audit.verify()));
}
