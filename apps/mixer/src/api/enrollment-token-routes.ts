// Enrollment tokens (issue 16): list, create (the secret shown once), revoke. Operator and above: a token is an
// adoption decided in advance, which is the operator's to make.
import {
  EnrollmentTokenCreateBodySchema,
  EnrollmentTokenCreatedSchema,
  EnrollmentTokenIdSchema,
  EnrollmentTokenRevokedSchema,
  EnrollmentTokenViewSchema,
} from "@fluxrig/wire";
import { z } from "zod";
import type { EnrollmentTokenOperations } from "../fleet/operations.js";
import { type ApiApp, actorOf, type RouteKit, readBody, reply } from "./api-route.js";
import { StateChangeBody } from "./schemas.js";

const TAG = "enrollment-tokens";
const TokenIdParams = z.strictObject({ id: EnrollmentTokenIdSchema });
const CREATE_BODY = {
  schema: EnrollmentTokenCreateBodySchema,
  required: true,
  example: { pattern: "edge-*", uses: 10, expires_in_seconds: 86400 },
} as const;
const REVOKE_BODY = { schema: StateChangeBody, required: false } as const;

/** The enrollment token routes, bound to their operations. */
export function enrollmentTokenRoutes(app: ApiApp, kit: RouteKit, tokens: EnrollmentTokenOperations): void {
  const listTokens = kit.route({
    method: "get",
    path: "/api/v1/enrollment-tokens",
    operationId: "listEnrollmentTokens",
    summary: "List enrollment tokens",
    description:
      "Every enrollment token not revoked, oldest first, with its pattern, uses, expiry and state (`usable`, " +
      "`used_up`, `expired`). Secrets are never shown again.",
    tag: TAG,
    auth: "operator",
    response: { schema: z.array(EnrollmentTokenViewSchema), description: "The enrollment tokens" },
  });
  app.openapi(listTokens, async (c) => reply(c, listTokens, await tokens.list()));

  const createToken = kit.route({
    method: "post",
    path: "/api/v1/enrollment-tokens",
    operationId: "createEnrollmentToken",
    summary: "Create an enrollment token",
    description:
      "A fresh secret (`fet_<id>_` and 256 random bits) a Rack sets as `[rack] enrollment_token`: its first hello " +
      "is adopted if its name matches `pattern` (`*` any run, `?` one character), a use remains and the token has " +
      "not expired. This answer is the only place the secret ever appears: the Mixer keeps its SHA-256.",
    tag: TAG,
    auth: "operator",
    body: CREATE_BODY,
    response: {
      schema: EnrollmentTokenCreatedSchema,
      description: "The token, with its secret (shown once)",
    },
  });
  app.openapi(createToken, async (c) => {
    const body = await readBody(c, CREATE_BODY);
    const input = { pattern: body.pattern, uses: body.uses, expiresInSeconds: body.expires_in_seconds };
    return reply(c, createToken, await tokens.create(input, { actor: actorOf(c) }));
  });

  const revokeToken = kit.route({
    method: "delete",
    path: "/api/v1/enrollment-tokens/{id}",
    operationId: "revokeEnrollmentToken",
    summary: "Revoke an enrollment token",
    description: "The token adopts nobody from this answer on. Racks it already adopted stay adopted.",
    tag: TAG,
    auth: "operator",
    params: TokenIdParams,
    body: REVOKE_BODY,
    response: { schema: EnrollmentTokenRevokedSchema, description: "The revoked token" },
    errors: ["not_found"],
    examples: { id: "0123456789ab" },
  });
  app.openapi(revokeToken, async (c) => {
    const { reason } = await readBody(c, REVOKE_BODY);
    const by = { actor: actorOf(c), ...(reason === undefined ? {} : { reason }) };
    return reply(c, revokeToken, await tokens.revoke(c.req.valid("param").id, by));
  });
}
