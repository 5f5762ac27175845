// Scenarios: import (YAML as text or inside JSON), plan, list, show the active one, activate, history, rollback.
import {
  ActiveScenarioSchema,
  ScenarioHistorySchema,
  ScenarioImportResultSchema,
  ScenarioPlanSchema,
} from "@fluxrig/wire";
import { OperationError } from "../errors/wire-refusal.js";
import type { ScenarioOperations } from "../fleet/operations.js";
import { MAX_SCENARIO_BYTES } from "../scenarios/scenario-spec.js";
import { type ApiApp, actorOf, type RouteKit, readBody, reply } from "./api-route.js";
import {
  NameParams,
  ScenarioHistoryQuery,
  ScenarioImportBody,
  ScenarioImportQuery,
  ScenarioListResponse,
  ScenarioPlanBody,
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

/** An invalid scenario (the operations' `schema` refusal) is answered 422, not the table's 400. */
const INVALID_SCENARIO_STATUS = 422;

const EXAMPLE_YAML = `meta: { name: edge-demo, version: 1 }
racks: [{ name: rack-nyc-01 }]
gears: [{ name: tick, type: ticker, deploy: rack-nyc-01, config: { interval: 1s } }]
wires: []
`;

/** The scenario routes, bound to the scenario operations. */
export function scenarioRoutes(app: ApiApp, kit: RouteKit, scenarios: ScenarioOperations): void {
  const importBody = {
    schema: ScenarioImportBody,
    required: true,
    text: { field: "yaml", mediaTypes: SCENARIO_TEXT_MEDIA_TYPES },
    maxBytes: SCENARIO_BODY_MAX_BYTES,
    example: { yaml: EXAMPLE_YAML, activate: true },
  } as const;
  const importScenario = kit.route({
    method: "post",
    path: "/api/v1/scenarios",
    operationId: "importScenario",
    summary: "Import a scenario",
    description:
      "Send the YAML as `application/yaml` (or `text/yaml`, `text/plain`), or JSON `{yaml, dry_run?, activate?}`. " +
      `\`?dry_run=true\` and \`?activate=true\` work with either; a JSON field wins over the query. The YAML is at ` +
      `most ${MAX_SCENARIO_BYTES} bytes. An invalid scenario is answered 422 \`schema\` with \`details.issues\`: ` +
      "`[{path, message, line, column}]`, every problem of the document in one pass (shape, gear types, each " +
      "gear's config against its type's schema, references), in document order.",
    tag: TAG,
    auth: "operator",
    query: ScenarioImportQuery,
    body: importBody,
    response: { schema: ScenarioImportResultSchema, description: "The imported (or checked) scenario" },
    errors: ["schema", "conflict", "invalid_transition"],
    errorStatus: { schema: INVALID_SCENARIO_STATUS },
    examples: { dry_run: "true" },
  });
  app.openapi(importScenario, async (c) => {
    const query = c.req.valid("query");
    const body = await readBody(c, importBody);
    checkSize(body.yaml);
    const result = await asInvalidScenario(() =>
      scenarios.import(body.yaml, {
        actor: actorOf(c),
        reason: body.reason,
        dryRun: body.dry_run ?? query.dry_run ?? false,
        activate: body.activate ?? query.activate ?? false,
      }),
    );
    return reply(c, importScenario, result);
  });

  const planBody = { ...importBody, schema: ScenarioPlanBody, example: { yaml: EXAMPLE_YAML } } as const;
  const planScenario = kit.route({
    method: "post",
    path: "/api/v1/scenarios/plan",
    operationId: "planScenario",
    summary: "Plan a scenario: what activating it would change",
    description:
      "The same bodies as import (the YAML as text, or JSON `{yaml}`). Nothing is written. Compared with the active " +
      "scenario, per Rack: `action` (adopt: pending, adopted at activation; push: told at once; wait: not enrolled " +
      "or not adoptable yet; drop: no longer named, told at once) and its gears to `start`, `stop`, `restart` " +
      "(type, config or wires changed) and `unchanged` (kept running, counters and all). Refused as an import " +
      "would be: 422 `schema` for an invalid scenario, 409 `conflict` for a stored version with other content.",
    tag: TAG,
    auth: "viewer",
    body: planBody,
    response: { schema: ScenarioPlanSchema, description: "What activation would change" },
    errors: ["schema", "conflict"],
    errorStatus: { schema: INVALID_SCENARIO_STATUS },
  });
  app.openapi(planScenario, async (c) => {
    const body = await readBody(c, planBody);
    checkSize(body.yaml);
    return reply(c, planScenario, await asInvalidScenario(() => scenarios.plan(body.yaml)));
  });

  const listScenarios = kit.route({
    method: "get",
    path: "/api/v1/scenarios",
    operationId: "listScenarios",
    summary: "List scenarios",
    tag: TAG,
    auth: "viewer",
    response: { schema: ScenarioListResponse, description: "Every imported scenario" },
  });
  app.openapi(listScenarios, async (c) => reply(c, listScenarios, { items: await scenarios.list() }));

  const showActiveScenario = kit.route({
    method: "get",
    path: "/api/v1/scenarios/active",
    operationId: "showActiveScenario",
    summary: "Show the active scenario",
    description: "404 `not_found` when no scenario is active.",
    tag: TAG,
    auth: "viewer",
    response: { schema: ActiveScenarioSchema, description: "The active scenario with its YAML" },
    errors: ["not_found"],
  });
  app.openapi(showActiveScenario, async (c) => {
    const active = await scenarios.active();
    if (active === null) throw new OperationError("not_found", "no scenario is active");
    return reply(c, showActiveScenario, active);
  });

  const scenarioHistory = kit.route({
    method: "get",
    path: "/api/v1/scenarios/history",
    operationId: "scenarioHistory",
    summary: "List scenario activations, newest first",
    description:
      "Every activation ever made, with the version it activated, when, by whom (the audit actor: the API " +
      "token's name) and why (`operator` or `rollback`); `current` marks the one in force. `?name=` keeps one " +
      "scenario's (404 `not_found` for a name never imported).",
    tag: TAG,
    auth: "viewer",
    query: ScenarioHistoryQuery,
    response: { schema: ScenarioHistorySchema, description: "Activations, newest first" },
    errors: ["not_found"],
  });
  app.openapi(scenarioHistory, async (c) =>
    reply(c, scenarioHistory, { items: await scenarios.history(c.req.valid("query").name) }),
  );

  const rollbackBody = { schema: StateChangeBody, required: false } as const;
  const rollbackScenario = kit.route({
    method: "post",
    path: "/api/v1/scenarios/rollback",
    operationId: "rollbackScenario",
    summary: "Re-activate the previously active scenario version",
    description:
      "A new activation (audited with cause `rollback`) of the latest activation of another version than the one " +
      "active now, exactly as it was activated (its stored YAML), even if that scenario was imported again since. " +
      "Racks get their pushes at once; gears it does not change keep running. 409 `invalid_transition` when no " +
      "other version was ever activated.",
    tag: TAG,
    auth: "operator",
    body: rollbackBody,
    response: { schema: ScenarioImportResultSchema, description: "What the rollback activated" },
    errors: ["invalid_transition"],
  });
  app.openapi(rollbackScenario, async (c) => {
    const { reason } = await readBody(c, rollbackBody);
    return reply(c, rollbackScenario, await scenarios.rollback({ actor: actorOf(c), reason }));
  });

  const activateBody = { schema: StateChangeBody, required: false } as const;
  const activateScenario = kit.route({
    method: "post",
    path: "/api/v1/scenarios/{name}/activate",
    operationId: "activateScenario",
    summary: "Activate a scenario",
    description: "Adopts the pending Racks it names and pushes each Rack its gears at once.",
    tag: TAG,
    auth: "operator",
    params: NameParams,
    body: activateBody,
    response: { schema: ScenarioImportResultSchema, description: "What activation did" },
    errors: ["not_found", "conflict", "invalid_transition"],
    examples: { name: "edge-demo" },
  });
  app.openapi(activateScenario, async (c) => {
    const { reason } = await readBody(c, activateBody);
    const result = await scenarios.activate(c.req.valid("param").name, { actor: actorOf(c), reason });
    return reply(c, activateScenario, result);
  });
}

function checkSize(yaml: string): void {
  const bytes = Buffer.byteLength(yaml, "utf8");
  if (bytes > MAX_SCENARIO_BYTES) {
    throw new OperationError("too_large", `scenario is ${bytes} bytes, the limit is ${MAX_SCENARIO_BYTES}`);
  }
}

/** The body parsed, so a `schema` refusal is about the scenario in it: 422, as documented. */
async function asInvalidScenario<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof OperationError && err.code === "schema" && err.status === undefined) {
      throw new OperationError(err.code, err.message, err.details, {
        cause: err,
        status: INVALID_SCENARIO_STATUS,
      });
    }
    throw err;
  }
}
