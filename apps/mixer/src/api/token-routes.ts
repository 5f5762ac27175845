// Named API tokens (issue 16): list, create (the secret shown once), revoke. Admin only.
import {
  ApiTokenCreateBodySchema,
  ApiTokenCreatedSchema,
  ApiTokenNameSchema,
  ApiTokenRevokedSchema,
  ApiTokenViewSchema,
} from "@fluxrig/wire";
import { z } from "zod";
import type { ApiTokenOperations } from "../fleet/operations.js";
import { type ApiApp, actorOf, type RouteKit, readBody, reply } from "./api-route.js";
import { StateChangeBody } from "./schemas.js";

const TAG = "tokens";
const TokenNameParams = z.strictObject({ name: ApiTokenNameSchema });
const CREATE_BODY = {
  schema: ApiTokenCreateBodySchema,
  required: true,
  example: { name: "grafana", role: "viewer" },
} as const;
const REVOKE_BODY = { schema: StateChangeBody, required: false } as const;

/** The token routes, bound to the token operations. */
export function tokenRoutes(app: ApiApp, kit: RouteKit, tokens: ApiTokenOperations): void {
  const listTokens = kit.route({
    method: "get",
    path: "/api/v1/tokens",
    operationId: "listTokens",
    summary: "List named API tokens",
    description: "Every live named token with its role, by name. Secrets are never shown again.",
    tag: TAG,
    auth: "admin",
    response: { schema: z.array(ApiTokenViewSchema), description: "The live named tokens" },
  });
  app.openapi(listTokens, async (c) => reply(c, listTokens, await tokens.list()));

  const createToken = kit.route({
    method: "post",
    path: "/api/v1/tokens",
    operationId: "createToken",
    summary: "Create a named API token",
    description:
      "A fresh secret (`frt_` and 256 random bits) for `name` with `role`. This answer is the only place the secret " +
      "ever appears: the Mixer keeps its SHA-256. The name is the audit actor of every request made with it.",
    tag: TAG,
    auth: "admin",
    body: CREATE_BODY,
    response: { schema: ApiTokenCreatedSchema, description: "The token, with its secret (shown once)" },
    errors: ["conflict"],
  });
  app.openapi(createToken, async (c) => {
    const { name, role } = await readBody(c, CREATE_BODY);
    return reply(c, createToken, await tokens.create(name, role, { actor: actorOf(c) }));
  });

  const revokeToken = kit.route({
    method: "delete",
    path: "/api/v1/tokens/{name}",
    operationId: "revokeToken",
    summary: "Revoke a named API token",
    description: "The token stops working as soon as this answers; no restart.",
    tag: TAG,
    auth: "admin",
    params: TokenNameParams,
    body: REVOKE_BODY,
    response: { schema: ApiTokenRevokedSchema, description: "The revoked token" },
    errors: ["not_found"],
    examples: { name: "ci-deploy" },
  });
  app.openapi(revokeToken, async (c) => {
    const { reason } = await readBody(c, REVOKE_BODY);
    const by = { actor: actorOf(c), ...(reason === undefined ? {} : { reason }) };
    return reply(c, revokeToken, await tokens.revoke(c.req.valid("param").name, by));
  });
}
