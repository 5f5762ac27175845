// Mounts the route table on Hono: auth, body cap, input parsing, the handler, output checking, in that order.
import type { Context, Hono, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Logger } from "pino";
import type { z } from "zod";
import { OperationError } from "../fleet/operations.js";
import type { ApiAuth, ApiEnv } from "./api-deps.js";
import { ApiError } from "./api-error.js";
import { bearerAuthChecks } from "./bearer-auth.js";
import { readRouteBody } from "./request-body.js";
import { type ApiRoute, honoPath, NoInput, SUCCESS_STATUS } from "./route-spec.js";

/** Who asked, as the audit log records it; sent by the CLI as the operator's login. */
export const ACTOR_HEADER = "X-Fluxrig-Actor";

/** A handler returned a value its documented schema refuses: a bug in the Mixer, answered 500 and logged. */
export class ResponseSchemaError extends Error {
  override readonly name = "ResponseSchemaError";
  constructor(
    readonly operationId: string,
    readonly issues: readonly z.core.$ZodIssue[],
  ) {
    const first = issues[0];
    super(
      `${operationId}: response fails its schema at ${first?.path.join(".") || "(root)"}: ${first?.message}`,
    );
  }
}

type Where = "path" | "query" | "body";

function issuesOf(error: z.ZodError): Array<{ path: string; message: string }> {
  return error.issues.slice(0, 20).map((i) => ({ path: i.path.join("."), message: i.message }));
}

/** Parses one part of the request; path and query problems are `malformed`, body problems `schema`. */
function parsePart<S extends z.ZodType>(schema: S, value: unknown, where: Where): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = issuesOf(result.error);
  const first = issues[0];
  const at = first === undefined || first.path === "" ? where : `${where} ${first.path}`;
  throw new ApiError(
    where === "body" ? "schema" : "malformed",
    `invalid ${at}: ${first?.message ?? "invalid"}`,
    {
      details: { issues },
    },
  );
}

function queryOf(c: Context<ApiEnv>): Record<string, string> {
  const all = c.req.queries();
  const query: Record<string, string> = {};
  for (const [key, values] of Object.entries(all)) {
    // A repeated parameter is ambiguous (which status?); refusing beats silently picking one.
    if (values.length > 1) throw new ApiError("malformed", `query parameter ${key.slice(0, 40)} is repeated`);
    query[key] = values[0] ?? "";
  }
  return query;
}

/** `api`, or `api:<name>` from the actor header, cut to a safe alphabet so it cannot forge log or audit text. */
export function actorOf(c: Context<ApiEnv>): string {
  const claimed = (c.req.header(ACTOR_HEADER) ?? "").replace(/[^A-Za-z0-9._@+-]/g, "").slice(0, 64);
  return claimed === "" ? "api" : `api:${claimed}`;
}

function handlerOf(route: ApiRoute): MiddlewareHandler<ApiEnv> {
  return async (c) => {
    const params = parsePart(route.params ?? NoInput, c.req.param(), "path");
    const query = parsePart(route.query ?? NoInput, queryOf(c), "query");
    const body =
      route.body === undefined
        ? {}
        : parsePart(route.body.schema, await readRouteBody(c, route.body), "body");
    let result: unknown;
    try {
      result = await route.handle({ params, query, body, actor: actorOf(c), c });
    } catch (err) {
      const status = err instanceof OperationError ? route.errorStatus?.[err.code] : undefined;
      if (err instanceof OperationError && status !== undefined) {
        throw new ApiError(err.code, err.message, { status, details: err.details, cause: err });
      }
      throw err;
    }
    const out = route.response.schema.safeParse(result);
    if (!out.success) throw new ResponseSchemaError(route.operationId, out.error.issues);
    if (route.response.mediaType === "text/html") return c.html(String(out.data));
    return c.json(out.data as object, SUCCESS_STATUS);
  };
}

/** The body cap of a route: the lower of its own and the server-wide one; undefined when it takes no body. */
export function bodyCapOf(route: ApiRoute, maxBodyBytes: number): number | undefined {
  const spec = route.body ?? route.rawBody;
  if (spec === undefined) return undefined;
  return Math.min(spec.maxBytes ?? maxBodyBytes, maxBodyBytes);
}

/**
 * Mounts every route of the table on `app`.
 *
 * @example
 * mountRoutes(app, [...rackRoutes(deps), ...scenarioRoutes(deps)], { auth, maxBodyBytes, logger });
 */
export function mountRoutes(
  app: Hono<ApiEnv>,
  routes: readonly ApiRoute[],
  opts: { auth: ApiAuth; maxBodyBytes: number; logger: Logger; counters?: { inc(name: string): void } },
): void {
  const check = bearerAuthChecks(opts.auth, opts.counters);
  for (const route of routes) {
    const chain: MiddlewareHandler<ApiEnv>[] = [];
    // Auth first: an anonymous client must not make the server read a body.
    if (route.auth !== "none") chain.push(check(route.auth));
    const cap = bodyCapOf(route, opts.maxBodyBytes);
    if (cap !== undefined) {
      const onError = (): never => {
        throw new ApiError("too_large", `request body is over the ${cap}-byte limit of this route`);
      };
      chain.push(bodyLimit({ maxSize: cap, onError }));
    }
    chain.push(handlerOf(route));
    app.on(route.method.toUpperCase(), [honoPath(route.path)], ...chain);
  }
}
