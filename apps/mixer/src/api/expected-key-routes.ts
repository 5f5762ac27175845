// Expected keys (issue 16): list (viewer), set and forget (operator). A name with one is adopted only with that key.
import { ExpectedKeyBodySchema, ExpectedKeyViewSchema } from "@fluxrig/wire";
import { z } from "zod";
import type { ExpectedKeyOperations } from "../fleet/operations.js";
import { type ApiApp, actorOf, type RouteKit, readBody, reply } from "./api-route.js";
import { NameParams, StateChangeBody } from "./schemas.js";

const TAG = "expected-keys";
const SET_BODY = {
  schema: ExpectedKeyBodySchema,
  required: true,
  example: { key: "SHA256:B2xG4DZYvfOJb/FdI9qkOcP3Zl0rUu1c5m8WvXqZ0aQ", reason: "shipped to NYC" },
} as const;
const FORGET_BODY = { schema: StateChangeBody, required: false } as const;

/** The expected key routes, bound to their operations. */
export function expectedKeyRoutes(app: ApiApp, kit: RouteKit, keys: ExpectedKeyOperations): void {
  const listKeys = kit.route({
    method: "get",
    path: "/api/v1/expected-keys",
    operationId: "listExpectedKeys",
    summary: "List expected keys",
    description: "Every name that may only be adopted with one key, with that key's fingerprint, by name.",
    tag: TAG,
    auth: "viewer",
    response: { schema: z.array(ExpectedKeyViewSchema), description: "The expected keys" },
  });
  app.openapi(listKeys, async (c) => reply(c, listKeys, await keys.list()));

  const setKey = kit.route({
    method: "post",
    path: "/api/v1/expected-keys/{name}",
    operationId: "expectKey",
    summary: "Expect a key for a name",
    description:
      "From now on the name is adopted only with the key of this fingerprint: a hello with that key is adopted at " +
      "once; any other key claiming the name is a name conflict, never adopted (by an operator, a scenario, a " +
      "token or auto_adopt). Replaces the name's previous expectation.",
    tag: TAG,
    auth: "operator",
    params: NameParams,
    body: SET_BODY,
    response: { schema: ExpectedKeyViewSchema, description: "The expectation" },
    examples: { name: "rack-nyc-01" },
  });
  app.openapi(setKey, async (c) => {
    const { key, reason } = await readBody(c, SET_BODY);
    const by = { actor: actorOf(c), ...(reason === undefined ? {} : { reason }) };
    return reply(c, setKey, await keys.expect(c.req.valid("param").name, key, by));
  });

  const forgetKey = kit.route({
    method: "delete",
    path: "/api/v1/expected-keys/{name}",
    operationId: "forgetExpectedKey",
    summary: "Forget a name's expected key",
    description: "Any key may be adopted under the name again. A Rack already adopted stays adopted.",
    tag: TAG,
    auth: "operator",
    params: NameParams,
    body: FORGET_BODY,
    response: { schema: ExpectedKeyViewSchema, description: "The expectation that was removed" },
    errors: ["not_found"],
    examples: { name: "rack-nyc-01" },
  });
  app.openapi(forgetKey, async (c) => {
    const { reason } = await readBody(c, FORGET_BODY);
    const by = { actor: actorOf(c), ...(reason === undefined ? {} : { reason }) };
    return reply(c, forgetKey, await keys.forget(c.req.valid("param").name, by));
  });
}
