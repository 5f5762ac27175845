// Scenarios: import (YAML as text or inside JSON), list, show the active one, activate.
import type { ScenarioOperations } from "../fleet/operations.js";
import { MAX_SCENARIO_BYTES } from "../scenarios/scenario-spec.js";
import { ApiError } from "./api-error.js";
import { type ApiRoute, defineRoute } from "./route-spec.js";
import {
  ActiveScenarioResponse,
  NameParams,
  ScenarioImportBody,
  ScenarioImportQuery,
  ScenarioImportResponse,
  ScenarioListResponse,
  StateChangeBody,
} from "./schemas.js";

const TAG = "scenarios";

/** Media types whose body is the YAML itself. */
export const SCENARIO_TEXT_MEDIA_TYPES = [
  "application/yaml",
  "application/x-yaml",
  "text/yaml",
  "text/x-yaml",
  "text/plain",
] as const;

// JSON escaping can double the YAML's size (every newline becomes \n); the YAML itself is checked exactly below.
const SCENARIO_BODY_MAX_BYTES = 2 * MAX_SCENARIO_BYTES + 4096;

const EXAMPLE_YAML = `meta: { name: edge-demo, version: 1 }
racks: [{ name: rack-nyc-01 }]
gears: [{ name: tick, type: ticker, deploy: rack-nyc-01, config: { interval_ms: 1000 } }]
wires: []
`;

/** The scenario routes, bound to the scenario operations. */
export function scenarioRoutes(scenarios: ScenarioOperations): ApiRoute[] {
  return [
    defineRoute({
      method: "post",
      path: "/api/v1/scenarios",
      operationId: "importScenario",
      summary: "Import a scenario",
      description:
        "Send the YAML as `application/yaml` (or `text/yaml`, `text/plain`), or JSON `{yaml, dry_run?, activate?}`. " +
        `\`?dry_run=true\` and \`?activate=true\` work with either; a JSON field wins over the query. The YAML is at ` +
        `most ${MAX_SCENARIO_BYTES} bytes. An invalid scenario is answered 422 \`schema\` with \`details.issues\`: ` +
        "`[{path, message, line, column}]`.",
      tag: TAG,
      auth: "api",
      query: ScenarioImportQuery,
      body: {
        schema: ScenarioImportBody,
        required: true,
        text: { field: "yaml", mediaTypes: SCENARIO_TEXT_MEDIA_TYPES },
        maxBytes: SCENARIO_BODY_MAX_BYTES,
      },
      response: { schema: ScenarioImportResponse, description: "The imported (or checked) scenario" },
      errors: ["schema", "conflict", "invalid_transition"],
      errorStatus: { schema: 422 },
      example: { query: { dry_run: "true" }, body: { yaml: EXAMPLE_YAML, activate: true } },
      handle: ({ query, body, actor }) => {
        const bytes = Buffer.byteLength(body.yaml, "utf8");
        if (bytes > MAX_SCENARIO_BYTES) {
          throw new ApiError("too_large", `scenario is ${bytes} bytes, the limit is ${MAX_SCENARIO_BYTES}`);
        }
        return scenarios.import(body.yaml, {
          actor,
          reason: body.reason,
          dryRun: body.dry_run ?? query.dry_run ?? false,
          activate: body.activate ?? query.activate ?? false,
        });
      },
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/scenarios",
      operationId: "listScenarios",
      summary: "List scenarios",
      tag: TAG,
      auth: "api",
      response: { schema: ScenarioListResponse, description: "Every imported scenario" },
      handle: async () => ({ items: await scenarios.list() }),
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/scenarios/active",
      operationId: "showActiveScenario",
      summary: "Show the active scenario",
      description: "404 `not_found` when no scenario is active.",
      tag: TAG,
      auth: "api",
      response: { schema: ActiveScenarioResponse, description: "The active scenario with its YAML" },
      errors: ["not_found"],
      handle: async () => {
        const active = await scenarios.active();
        if (active === null) throw new ApiError("not_found", "no scenario is active");
        return active;
      },
    }),
    defineRoute({
      method: "post",
      path: "/api/v1/scenarios/{name}/activate",
      operationId: "activateScenario",
      summary: "Activate a scenario",
      description: "Adopts the pending Racks it names and pushes each Rack its gears at once.",
      tag: TAG,
      auth: "api",
      params: NameParams,
      body: { schema: StateChangeBody, required: false },
      response: { schema: ScenarioImportResponse, description: "What activation did" },
      errors: ["not_found", "conflict", "invalid_transition"],
      example: { params: { name: "edge-demo" } },
      handle: ({ params, body, actor }) => scenarios.activate(params.name, { actor, reason: body.reason }),
    }),
  ];
}
