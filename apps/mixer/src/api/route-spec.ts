// One route as data: the same table mounts the Hono handlers and writes the OpenAPI document, so they cannot drift.
import type { WireErrorCode } from "@fluxrig/wire";
import type { Context } from "hono";
import { z } from "zod";
import type { ApiEnv } from "./api-deps.js";

export type HttpMethod = "get" | "post" | "delete";

/** Who may call: anyone, holders of the API token, or holders of the API or the telemetry token. */
export type RouteAuth = "none" | "api" | "telemetry";

type Schema = z.ZodType;

/** A route with no path parameters, query or body validates against this. */
export const NoInput = z.strictObject({});
type NoInputSchema = typeof NoInput;

export interface BodySpec<B extends Schema> {
  schema: B;
  /** When false, an empty body is checked as `{}`. */
  required: boolean;
  /** Plain-text media types also accepted; their text is delivered as `{ [field]: text }` (scenario YAML). */
  text?: { field: string; mediaTypes: readonly string[] };
  /** A cap below the server-wide `maxBodyBytes`; the lower of the two applies. */
  maxBytes?: number;
}

/** A body the handler reads itself (OTLP must answer junk on its own terms); the schema only documents it. */
export interface RawBodySpec {
  schema: Schema;
  mediaTypes: readonly string[];
  maxBytes?: number;
}

export interface ResponseSpec<R extends Schema> {
  schema: R;
  description: string;
  /** Default `application/json`; `text/html` routes return the page as a string. */
  mediaType?: "application/json" | "text/html";
}

/** A sample call, shown in the OpenAPI document and replayed by the tests. */
export interface RouteExample {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** Who asked, for the audit log: `api`, or `api:<X-Fluxrig-Actor>`. */
  actor: string;
  c: Context<ApiEnv>;
}

export interface RouteSpec<P extends Schema, Q extends Schema, B extends Schema, R extends Schema> {
  method: HttpMethod;
  /** OpenAPI template, e.g. `/api/v1/racks/{ref}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  auth: RouteAuth;
  params?: P;
  query?: Q;
  body?: BodySpec<B>;
  rawBody?: RawBodySpec;
  response: ResponseSpec<R>;
  /** Codes the operations behind the route may refuse with; the HTTP layer's own codes are added for you. */
  errors?: readonly WireErrorCode[];
  /** Statuses that differ from `WIRE_ERROR_HTTP_STATUS` for this route only. */
  errorStatus?: Partial<Record<WireErrorCode, number>>;
  example?: RouteExample;
  handle(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<z.input<R>> | z.input<R>;
}

/** A route with its types erased, as the table holds it; the registrar checks every value with the schemas. */
export type ApiRoute = RouteSpec<Schema, Schema, Schema, Schema>;

/**
 * Types a route's handler against its schemas, then erases the types for the table.
 *
 * @example
 * defineRoute({ method: "get", path: "/api/v1/racks/{ref}", params: RefParams, response: { schema: RackSchema, ... },
 *   handle: ({ params }) => deps.racks.show(params.ref), ... });
 */
export function defineRoute<
  P extends Schema = NoInputSchema,
  Q extends Schema = NoInputSchema,
  B extends Schema = NoInputSchema,
  R extends Schema = Schema,
>(spec: RouteSpec<P, Q, B, R>): ApiRoute {
  // Sound because the registrar parses params, query and body with these very schemas before calling handle.
  return spec as unknown as ApiRoute;
}

/** `/api/v1/racks/{ref}` as Hono writes it: `/api/v1/racks/:ref`. */
export function honoPath(path: string): string {
  return path.replace(/\{([a-z_]+)\}/g, ":$1");
}

/** The status of a successful call. */
export const SUCCESS_STATUS = 200;
