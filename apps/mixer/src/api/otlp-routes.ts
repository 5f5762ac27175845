// The OTLP/HTTP metrics receiver: `POST /v1/metrics` in JSON (optionally gzip), protobuf refused with a clear 415.
import { gunzipSync } from "node:zlib";
import type { Context } from "hono";
import { OperationError } from "../errors/wire-refusal.js";
import { ingestOtlpJson } from "../telemetry/otlp-ingest.js";
import type { RackMetricsStore } from "../telemetry/rack-metrics-store.js";
import type { ApiEnv } from "./api-deps.js";
import { type ApiApp, type RouteKit, reply } from "./api-route.js";
import { isJsonMediaType, mediaTypeOf } from "./request-body.js";
import { OtlpExportResponse, otlpRequestComponents } from "./schemas.js";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function unsupported(message: string): OperationError {
  return new OperationError("malformed", message, undefined, { status: 415 });
}

/** The body as text, inflated when gzip-encoded; the inflated size is capped like the raw one. */
async function exportText(c: Context<ApiEnv>, maxBytes: number): Promise<string> {
  const raw = Buffer.from(await c.req.arrayBuffer());
  const encoding = (c.req.header("Content-Encoding") ?? "identity").trim().toLowerCase();
  let bytes = raw;
  if (encoding === "gzip") {
    try {
      bytes = gunzipSync(raw, { maxOutputLength: maxBytes });
    } catch (cause) {
      // zlib throws a RangeError when the output would pass maxOutputLength.
      const [code, message] =
        cause instanceof RangeError
          ? (["too_large", `export inflates to more than ${maxBytes} bytes`] as const)
          : (["malformed", "Content-Encoding is gzip but the body does not inflate"] as const);
      throw new OperationError(code, message, undefined, { cause });
    }
  } else if (encoding !== "identity") {
    throw unsupported(`Content-Encoding ${encoding.slice(0, 40)} is not supported: send gzip or no encoding`);
  }
  if (bytes.byteLength === 0)
    throw new OperationError("malformed", "empty export: expected an OTLP JSON object");
  try {
    return strictUtf8.decode(bytes);
  } catch (cause) {
    throw new OperationError("malformed", "export is not valid UTF-8", undefined, { cause });
  }
}

/** `POST /v1/metrics`, on the API's server and port, behind the API or telemetry token. */
export function otlpRoutes(
  app: ApiApp,
  kit: RouteKit,
  opts: {
    store: RackMetricsStore;
    maxBodyBytes: number;
    clock: () => Date;
    counters?: { inc(name: string): void } | undefined;
  },
): void {
  for (const [id, schema] of Object.entries(otlpRequestComponents())) {
    app.openAPIRegistry.registerComponent("schemas", id, schema);
  }
  const exportMetrics = kit.route({
    method: "post",
    path: "/v1/metrics",
    operationId: "exportMetrics",
    summary: "OTLP/HTTP metrics receiver",
    description:
      "The OTLP ExportMetricsServiceRequest in its JSON encoding (`application/json`, optionally " +
      "`Content-Encoding: gzip`). Protobuf is answered 415: configure the exporter for http/json. Each resource " +
      "must carry `service.instance.id` = the Rack's decimal entity id; resources without one are rejected as a " +
      "partial success, an export with none is refused.",
    tag: "metrics",
    auth: "telemetry",
    rawBody: {
      schema: { $ref: "#/components/schemas/OtlpExportMetricsRequest" },
      mediaTypes: ["application/json"],
    },
    response: {
      schema: OtlpExportResponse,
      description: "`{}`, or `partialSuccess` naming what was rejected",
    },
    errors: ["malformed", "schema", "too_large"],
  });
  app.openapi(exportMetrics, async (c) => {
    const type = mediaTypeOf(c);
    if (type === "application/x-protobuf" || type === "application/protobuf") {
      throw unsupported("OTLP protobuf is not supported here: set the exporter's protocol to http/json");
    }
    if (!isJsonMediaType(type))
      throw unsupported(`unsupported Content-Type ${type ?? "(none)"}: send application/json`);
    const text = await exportText(c, opts.maxBodyBytes);
    const result = ingestOtlpJson({ text, store: opts.store, now: opts.clock() });
    if (!result.ok) {
      opts.counters?.inc(`otlp.refused.${result.reason}`);
      const details = result.issues === undefined ? undefined : { issues: result.issues };
      throw new OperationError(result.reason, result.message, details);
    }
    opts.counters?.inc("otlp.accepted");
    if (result.rejectedDataPoints === 0) return reply(c, exportMetrics, {});
    opts.counters?.inc("otlp.partial");
    const rejectedDataPoints = String(result.rejectedDataPoints);
    return reply(c, exportMetrics, {
      partialSuccess: { rejectedDataPoints, errorMessage: result.errorMessage },
    });
  });
}
