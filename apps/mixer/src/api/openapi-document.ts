// The OpenAPI 3.1 document, written from the route table and the zod schemas the routes validate with.
import { WIRE_ERROR_HTTP_STATUS, type WireErrorCode } from "@fluxrig/wire";
import { z } from "zod";
import type { ApiRoute } from "./route-spec.js";
import { type ComponentMeta, ErrorResponse, requestComponents, responseComponents } from "./schemas.js";

type JsonSchema = Record<string, unknown>;
export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, Record<string, unknown>> };

const REF_PREFIX = "#/components/schemas/";

/** Component schemas; requests are rendered as their input side (defaults optional), responses as output. */
function componentSchemas(): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  const uri = (id: string) => `${REF_PREFIX}${id}`;
  for (const [registry, io] of [
    [requestComponents, "input"],
    [responseComponents, "output"],
  ] as const) {
    const { schemas } = z.toJSONSchema(registry, { uri, io, unrepresentable: "any" });
    for (const [id, schema] of Object.entries(schemas)) {
      if (id in out) throw new Error(`OpenAPI component ${id} is registered twice`);
      // Both keys are about standalone JSON Schema files; inside components they only confuse tools.
      const { $schema: _s, $id: _i, ...rest } = schema as JsonSchema;
      out[id] = rest;
    }
  }
  return out;
}

/** A schema by reference when it is a component, inline otherwise. */
function schemaOf(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const registry = io === "input" ? requestComponents : responseComponents;
  const meta: ComponentMeta | undefined = registry.get(schema);
  if (meta !== undefined) return { $ref: `${REF_PREFIX}${meta.id}` };
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonSchema;
  return rest;
}

function parametersOf(route: ApiRoute): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, schema] of [
    ["path", route.params],
    ["query", route.query],
  ] as const) {
    if (schema === undefined) continue;
    const json = z.toJSONSchema(schema, { io: "input" }) as {
      properties?: Record<string, JsonSchema>;
      required?: string[];
    };
    const examples = where === "path" ? route.example?.params : route.example?.query;
    for (const [name, property] of Object.entries(json.properties ?? {})) {
      const { description, ...propertySchema } = property;
      const parameter: JsonSchema = {
        name,
        in: where,
        required: where === "path" || (json.required ?? []).includes(name),
        schema: propertySchema,
      };
      if (typeof description === "string") parameter.description = description;
      const example = examples?.[name];
      // Examples are written as query text; the document shows them in the parameter's own type.
      if (example !== undefined)
        parameter.example = propertySchema.type === "integer" ? Number(example) : example;
      out.push(parameter);
    }
  }
  return out;
}

function requestBodyOf(route: ApiRoute): JsonSchema | undefined {
  if (route.body !== undefined) {
    const json: JsonSchema = { schema: schemaOf(route.body.schema, "input") };
    if (route.example?.body !== undefined) json.example = route.example.body;
    const content: Record<string, JsonSchema> = { "application/json": json };
    for (const type of route.body.text?.mediaTypes ?? []) content[type] = { schema: { type: "string" } };
    return { required: route.body.required, content };
  }
  if (route.rawBody !== undefined) {
    const schema = schemaOf(route.rawBody.schema, "input");
    return {
      required: true,
      content: Object.fromEntries(route.rawBody.mediaTypes.map((t) => [t, { schema }])),
    };
  }
  return undefined;
}

/** Every code a route can answer with: its own plus the HTTP layer's, by status. */
export function errorCodesOf(route: ApiRoute): Map<number, Set<WireErrorCode>> {
  const codes = new Set<WireErrorCode>(route.errors ?? []);
  if (route.auth !== "none") codes.add("unauthorized");
  if (route.params !== undefined || route.query !== undefined) codes.add("malformed");
  if (route.body !== undefined) for (const c of ["malformed", "schema", "too_large"] as const) codes.add(c);
  if (route.rawBody !== undefined) for (const c of ["malformed", "too_large"] as const) codes.add(c);
  codes.add("internal");
  const byStatus = new Map<number, Set<WireErrorCode>>();
  const add = (status: number, code: WireErrorCode) =>
    byStatus.set(status, (byStatus.get(status) ?? new Set()).add(code));
  for (const code of codes) add(route.errorStatus?.[code] ?? WIRE_ERROR_HTTP_STATUS[code], code);
  // Bodies in a media type the route does not read are refused 415 (`malformed`).
  if (route.body?.text !== undefined || route.rawBody !== undefined) add(415, "malformed");
  return byStatus;
}

function operationOf(route: ApiRoute): JsonSchema {
  const mediaType = route.response.mediaType ?? "application/json";
  const okSchema = mediaType === "text/html" ? { type: "string" } : schemaOf(route.response.schema, "output");
  const responses: Record<string, JsonSchema> = {
    "200": { description: route.response.description, content: { [mediaType]: { schema: okSchema } } },
  };
  const errorRef = schemaOf(ErrorResponse, "output");
  for (const [status, codes] of [...errorCodesOf(route)].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: `error.code: ${[...codes].sort().join(", ")}`,
      content: { "application/json": { schema: errorRef } },
    };
  }
  const operation: JsonSchema = {
    operationId: route.operationId,
    summary: route.summary,
    tags: [route.tag],
    security: route.auth === "none" ? [] : [{ bearerAuth: [] }],
    parameters: parametersOf(route),
    responses,
  };
  if (route.description !== undefined) operation.description = route.description;
  const requestBody = requestBodyOf(route);
  if (requestBody !== undefined) operation.requestBody = requestBody;
  if (route.auth === "telemetry") operation["x-fluxrig-auth"] = "API token or telemetry token";
  return operation;
}

/**
 * The document served at `/api/v1/openapi.json`.
 *
 * @example
 * const doc = buildOpenApiDocument(routes, { version: "0.1.0" });
 */
export function buildOpenApiDocument(
  routes: readonly ApiRoute[],
  opts: { version: string },
): OpenApiDocument {
  const paths: OpenApiDocument["paths"] = {};
  for (const route of routes) {
    const item = paths[route.path] ?? {};
    paths[route.path] = item;
    if (item[route.method] !== undefined)
      throw new Error(`route ${route.method} ${route.path} is defined twice`);
    item[route.method] = operationOf(route);
  }
  const tags = [...new Set(routes.map((r) => r.tag))].map((name) => ({ name }));
  return {
    openapi: "3.1.0",
    info: {
      title: "fluxrig Mixer API",
      version: opts.version,
      description:
        "Operator API of the fluxrig control plane. Every route but health, this document and the docs page " +
        "needs `Authorization: Bearer <token>`. Errors are `{ error: { code, message, details? } }`.",
    },
    servers: [{ url: "/" }],
    tags,
    paths,
    components: {
      schemas: componentSchemas(),
      securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } },
    },
  };
}
