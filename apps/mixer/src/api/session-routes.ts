// Who am I: the name and role of the presented token, so a client (the console) shows who is signed in and which
// actions to offer. The server still checks every action's role; this only saves showing buttons that would fail.
import { ApiTokenRoleSchema } from "@fluxrig/wire";
import { z } from "zod";
import { type ApiApp, type RouteKit, reply } from "./api-route.js";

/** The name the bootstrap token (`[api] auth_token`) is shown under; its audit actor stays `api`. */
export const BOOTSTRAP_SESSION_NAME = "bootstrap";
/** The name shown when `[api] auth_disabled_dangerously` lets every request through as an admin. */
export const AUTH_DISABLED_SESSION_NAME = "auth-disabled";

export const SessionResponse = z
  .object({
    name: z.string().describe("The named token's name; `bootstrap` for [api] auth_token"),
    role: ApiTokenRoleSchema,
  })
  .meta({ id: "Session" });

/** `GET /api/v1/session`. */
export function sessionRoutes(app: ApiApp, kit: RouteKit): void {
  const session = kit.route({
    method: "get",
    path: "/api/v1/session",
    operationId: "session",
    summary: "Who am I",
    description:
      "The presented token's name and role (`bootstrap` and `admin` for [api] auth_token). Any token that may read " +
      "the API gets its answer; the metrics and telemetry tokens are refused like on every other route.",
    tag: "cluster",
    auth: "viewer",
    response: { schema: SessionResponse, description: "The token's name and role" },
  });
  app.openapi(session, (c) => {
    const principal = c.get("principal");
    if (principal === undefined)
      return reply(c, session, { name: AUTH_DISABLED_SESSION_NAME, role: "admin" });
    const name = principal.bootstrap ? BOOTSTRAP_SESSION_NAME : principal.name;
    return reply(c, session, { name, role: principal.role });
  });
}
