// How a REST route is declared: @hono/zod-openapi's createRoute plus what every Mixer route shares (bearer auth,
// body cap, body reading, documented error statuses), so each route module reads as `app.openapi(route, handler)`.
import { ApiErrorBodySchema, WIRE_ERROR_HTTP_STATUS, type WireErrorCode } from "@fluxrig/wire";
import { createRoute, type OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { z } from "zod";
import { OperationError } from "../errors/wire-refusal.js";
import type { ApiAuth, ApiEnv } from "./api-deps.js";
import { bearerAuthChecks, LEAST_ROLE, type RouteAuth } from "./bearer-auth.js";
import { type BodySpec, readRouteBody } from "./request-body.js";

/** The Hono app every route module mounts its routes on. */
export type ApiApp = OpenAPIHono<ApiEnv>;

/**
 * A note on who asked, sent by the CLI as the operator's login: recorded (as `api:<name>`) only for the bootstrap
 * token, which everyone holding it shares. A named token's own name is the actor; this header cannot change it.
 */
export const ACTOR_HEADER = "X-Fluxrig-Actor";

/** A route with no path parameters or query validates against this: an unknown query parameter is refused. */
export const NoInput = z.strictObject({});

type Params = z.ZodObject;
type OpenAPIRegistry = ApiApp["openAPIRegistry"];

/** A body the handler reads itself (OTLP must answer junk on its own terms); the schema only documents it. */
export interface RawBodySpec {
  /** A zod schema, or a reference to a component the route module registered itself. */
  schema: z.ZodType | { $ref: string };
  mediaTypes: readonly string[];
  maxBytes?: number;
}

export interface ApiRouteSpec<
  M extends "get" | "post" | "delete",
  P extends string,
  PS extends Params,
  QS extends Params,
  R extends z.ZodType,
> {
  method: M;
  /** OpenAPI template, e.g. `/api/v1/racks/{ref}`. */
  path: P;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  auth: RouteAuth;
  params?: PS;
  query?: QS;
  body?: BodySpec;
  rawBody?: RawBodySpec;
  response: {
    schema: R;
    description: string;
    mediaType?: "application/json" | "text/html" | "text/plain" | "text/event-stream";
  };
  /** Codes the operations behind the route may refuse with; the HTTP layer's own codes are added for you. */
  errors?: readonly WireErrorCode[];
  /** Statuses that differ from `WIRE_ERROR_HTTP_STATUS` for this route only (the handler throws with them). */
  errorStatus?: Partial<Record<WireErrorCode, number>>;
  /** Sample path and query values, shown in the document and the docs page and replayed by the tests. */
  examples?: Record<string, string | number>;
}

/** A route as `app.openapi` types it: params and query from their schemas, the 200 body from the response schema. */
export type ApiRouteConfig<M extends string, P extends string, PS, QS, R extends z.ZodType> = RouteConfig & {
  method: M;
  path: P;
  operationId: string;
  request: { params: PS; query: QS };
  responses: { 200: { description: string; content: Record<string, { schema: R }> } };
};

/** What the route middleware needs from the API's deps. */
export interface RouteKitOptions {
  auth: ApiAuth;
  maxBodyBytes: number;
  counters?: { inc(name: string): void } | undefined;
  /** The app's OpenAPI registry: each route is documented there, with its body. */
  registry: OpenAPIRegistry;
}

/** Any route's spec, for the helpers that read only its untyped parts. */
type AnyRouteSpec = ApiRouteSpec<"get" | "post" | "delete", string, Params, Params, z.ZodType>;

/** Every code a route can answer with, by status: its own plus the HTTP layer's. */
function errorCodesOf(spec: AnyRouteSpec): Map<number, Set<WireErrorCode>> {
  const codes = new Set<WireErrorCode>(spec.errors ?? []);
  if (spec.auth !== "none") {
    codes.add("unauthorized");
    codes.add("forbidden");
  }
  if (spec.params !== undefined || spec.query !== undefined) codes.add("malformed");
  if (spec.body !== undefined) for (const c of ["malformed", "schema", "too_large"] as const) codes.add(c);
  if (spec.rawBody !== undefined) for (const c of ["malformed", "too_large"] as const) codes.add(c);
  codes.add("internal");
  const byStatus = new Map<number, Set<WireErrorCode>>();
  const add = (status: number, code: WireErrorCode) =>
    byStatus.set(status, (byStatus.get(status) ?? new Set()).add(code));
  for (const code of codes) add(spec.errorStatus?.[code] ?? WIRE_ERROR_HTTP_STATUS[code], code);
  // Bodies in a media type the route does not read are refused 415 (`malformed`).
  if (spec.body?.text !== undefined || spec.rawBody !== undefined) add(415, "malformed");
  return byStatus;
}

/** The same object schema with each named property's example attached to its parameter. */
function withExamples<S extends Params>(schema: S, examples: Record<string, string | number> | undefined): S {
  if (examples === undefined) return schema;
  const shape: Record<string, z.ZodType> = {};
  for (const [name, property] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const example = examples[name];
    shape[name] = example === undefined ? property : property.meta({ param: { example } });
  }
  // Same keys and property types, only documentation added: the parsed type is unchanged.
  return schema.extend(shape) as unknown as S;
}

/** A repeated query parameter is ambiguous (which status?); refusing beats silently picking one. */
const singleQueryValues: MiddlewareHandler<ApiEnv> = async (c, next) => {
  for (const [key, values] of Object.entries(c.req.queries())) {
    if (values.length > 1)
      throw new OperationError("malformed", `query parameter ${key.slice(0, 40)} is repeated`);
  }
  await next();
};

/** A failed check of the path, query or body: path and query problems are `malformed`, body problems `schema`. */
function invalidInput(where: "path" | "query" | "body", error: z.ZodError): OperationError {
  const issues = error.issues.slice(0, 20).map((i) => ({ path: i.path.join("."), message: i.message }));
  const first = issues[0];
  const at = first === undefined || first.path === "" ? where : `${where} ${first.path}`;
  return new OperationError(
    where === "body" ? "schema" : "malformed",
    `invalid ${at}: ${first?.message ?? "invalid"}`,
    { issues },
  );
}

/** `OpenAPIHono`'s defaultHook: a params or query check that fails is thrown to the error handler as a refusal. */
export function refuseInvalidInput(result: { success: boolean; target: string; error?: z.ZodError }): void {
  if (result.success || result.error === undefined) return;
  throw invalidInput(
    result.target === "param" ? "path" : result.target === "query" ? "query" : "body",
    result.error,
  );
}

/**
 * The body of a request, read and checked with the route's own body spec. Read in the handler, after the path and
 * query passed, so a request wrong in both is answered about its path; the body cap applied before it was read.
 *
 * @example
 * const { reason } = await readBody(c, CHANGE_BODY);
 */
export async function readBody<B extends z.ZodType>(
  c: Context<ApiEnv>,
  spec: BodySpec<B>,
): Promise<z.output<B>> {
  const result = spec.schema.safeParse(await readRouteBody(c, spec));
  if (!result.success) throw invalidInput("body", result.error);
  return result.data;
}

/**
 * The audit actor of a request: a named token's name; for the bootstrap token (and with auth disabled) `api`, or
 * `api:<name>` from the actor header, cut to a safe alphabet so it cannot forge log or audit text.
 */
export function actorOf(c: Context<ApiEnv>): string {
  const principal = c.get("principal");
  if (principal !== undefined && !principal.bootstrap) return principal.name;
  const claimed = (c.req.header(ACTOR_HEADER) ?? "").replace(/[^A-Za-z0-9._@+-]/g, "").slice(0, 64);
  return claimed === "" ? "api" : `api:${claimed}`;
}

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

/** A route's 200 media type and its response schema compiled for the check, made on the route's first answer. */
interface ResponseCheck {
  mediaType: string;
  schema: z.ZodType;
}

const responseChecks = new WeakMap<object, ResponseCheck>();

/**
 * The check of `route`'s answers: its response schema through `z.compile` (generated code, the same parse with the
 * same output, stripping and issues: zod runs its interpreted parser for anything the generated code cannot model
 * and on every failure). A page of 100 Racks costs 80 us to check compiled against 220 us interpreted
 * (bench/swarm/README.md, issue 19). Compiled on first use, not at start: an idle Mixer compiles nothing.
 */
function responseCheckOf(route: ApiRouteConfig<string, string, unknown, unknown, z.ZodType>): ResponseCheck {
  let check = responseChecks.get(route);
  if (check === undefined) {
    const [mediaType, media] = Object.entries(route.responses[200].content)[0]!;
    check = { mediaType, schema: z.compile(media.schema) };
    responseChecks.set(route, check);
  }
  return check;
}

/**
 * The 200 answer of `route`: the value checked (and stripped to what is documented) by its response schema.
 *
 * @example
 * app.openapi(showRack, async (c) => reply(c, showRack, await racks.show(c.req.valid("param").ref)));
 */
export function reply<R extends z.ZodType>(
  c: Context<ApiEnv>,
  route: ApiRouteConfig<string, string, unknown, unknown, R>,
  value: z.input<R>,
) {
  const { mediaType, schema } = responseCheckOf(route);
  const out = schema.safeParse(value);
  if (!out.success) throw new ResponseSchemaError(route.operationId, out.error.issues);
  if (mediaType === "text/html") return c.html(String(out.data), 200);
  return c.json(out.data as z.output<R> & object, 200);
}

/** The document's view of a body, with the text media types it also takes. */
function requestBodyOf(spec: AnyRouteSpec) {
  const { body, rawBody } = spec;
  if (body !== undefined) {
    const json = { schema: body.schema, ...(body.example === undefined ? {} : { example: body.example }) };
    const content: Record<string, { schema: z.ZodType; example?: unknown }> = { "application/json": json };
    for (const type of body.text?.mediaTypes ?? []) content[type] = { schema: z.string() };
    return { required: body.required, content };
  }
  if (rawBody !== undefined) {
    const content = Object.fromEntries(rawBody.mediaTypes.map((t) => [t, { schema: rawBody.schema }]));
    return { required: true, content };
  }
  return undefined;
}

/**
 * The kit for one API. Handlers read bodies with {@link readBody}, not @hono/zod-openapi's validator: that one
 * answers a non-JSON Content-Type with 415 or checks `{}`, where the API reads `curl -d` bodies as JSON.
 *
 * @example
 * const kit = routeKit({ auth, maxBodyBytes, registry: app.openAPIRegistry });
 * app.openapi(kit.route({ method: "get", path: "/api/v1/racks/{ref}", ... }), handler);
 */
export function routeKit(opts: RouteKitOptions) {
  const check = bearerAuthChecks(opts.auth, opts.counters);
  function route<
    M extends "get" | "post" | "delete",
    P extends string,
    PS extends Params = typeof NoInput,
    QS extends Params = typeof NoInput,
    R extends z.ZodType = z.ZodType,
  >(spec: ApiRouteSpec<M, P, PS, QS, R>): ApiRouteConfig<M, P, PS, QS, R> {
    const middleware: MiddlewareHandler<ApiEnv>[] = [];
    // Auth first: an anonymous client must not make the server read a body.
    if (spec.auth !== "none") middleware.push(check(spec.auth));
    const body = spec.body ?? spec.rawBody;
    if (body !== undefined) {
      // The lower of the route's own cap and the server-wide one.
      const cap = Math.min(body.maxBytes ?? opts.maxBodyBytes, opts.maxBodyBytes);
      const onError = (): never => {
        throw new OperationError("too_large", `request body is over the ${cap}-byte limit of this route`);
      };
      middleware.push(bodyLimit({ maxSize: cap, onError }));
    }
    middleware.push(singleQueryValues);
    const responses: RouteConfig["responses"] = {
      200: {
        description: spec.response.description,
        content: { [spec.response.mediaType ?? "application/json"]: { schema: spec.response.schema } },
      },
    };
    for (const [status, codes] of [...errorCodesOf(spec)].sort(([a], [b]) => a - b)) {
      responses[status] = {
        description: `error.code: ${[...codes].sort().join(", ")}`,
        content: { "application/json": { schema: ApiErrorBodySchema } },
      };
    }
    const requestBody = requestBodyOf(spec);
    const request = {
      params: withExamples(spec.params ?? NoInput, spec.examples),
      query: withExamples(spec.query ?? NoInput, spec.examples),
    };
    const documented = {
      method: spec.method,
      path: spec.path,
      operationId: spec.operationId,
      summary: spec.summary,
      ...(spec.description === undefined ? {} : { description: spec.description }),
      tags: [spec.tag],
      security: spec.auth === "none" ? [] : [{ bearerAuth: [] }],
      ...(spec.auth === "none" ? {} : { "x-fluxrig-role": LEAST_ROLE[spec.auth] }),
      ...(spec.auth === "telemetry" ? { "x-fluxrig-auth": "an operator token or the telemetry token" } : {}),
      ...(spec.auth === "metrics" ? { "x-fluxrig-auth": "a viewer token or the metrics token" } : {}),
      request: { ...request, ...(requestBody === undefined ? {} : { body: requestBody }) },
      responses,
    } as RouteConfig;
    // The document shows the body; the app mounts the route without it (`hide`: documented here already), so the
    // handler reads the body with readBody and the library's validator never does.
    opts.registry.registerPath(documented);
    const config = createRoute({ ...documented, request, middleware, hide: true } as RouteConfig);
    // The type parameters are exactly what was put in; createRoute only adds getRoutingPath.
    return config as unknown as ApiRouteConfig<M, P, PS, QS, R>;
  }
  return { route };
}

/** Declares routes for one API: `kit.route({...})` is `createRoute({...})` with the shared parts filled in. */
export type RouteKit = ReturnType<typeof routeKit>;
