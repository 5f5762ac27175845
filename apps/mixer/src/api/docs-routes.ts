// The OpenAPI document and the docs page; both public, as they hold no secrets and the page needs the document.
import { z } from "zod";
import { type ApiApp, type RouteKit, reply } from "./api-route.js";
import { DOCS_PAGE_CSP, DOCS_PAGE_HTML } from "./docs-page.js";
import { OpenApiDocumentResponse } from "./schemas.js";

/** The OpenAPI 3.1 document as served: @hono/zod-openapi's, made of every route mounted with `app.openapi`. */
export type OpenApiDocument = ReturnType<ApiApp["getOpenAPI31Document"]>;

/**
 * The document of `app`, written by @hono/zod-openapi from its routes and their zod schemas.
 *
 * @example
 * const doc = openApiDocument(app, { version: "0.1.0" });
 */
export function openApiDocument(app: ApiApp, opts: { version: string }): OpenApiDocument {
  const info = {
    title: "fluxrig Mixer API",
    version: opts.version,
    description:
      "Operator API of the fluxrig control plane. Every route but health, this document and the docs page " +
      "needs `Authorization: Bearer <token>`. Errors are `{ error: { code, message, details? } }`.",
  };
  const untagged = app.getOpenAPI31Document({ openapi: "3.1.0", info, servers: [{ url: "/" }] });
  // Tags in the order routes were mounted, so the docs page groups them as the modules do.
  const names = Object.values(untagged.paths ?? {}).flatMap((item) =>
    Object.values(item).flatMap((op: { tags?: string[] }) => op.tags ?? []),
  );
  const tags = [...new Set(names)].map((name) => ({ name }));
  // The generator always writes these two, empty: the API has no webhooks and no shared parameters.
  const { webhooks: _w, ...rest } = untagged;
  const { parameters: _p, ...components } = rest.components ?? {};
  return { ...rest, tags, components };
}

/** `GET /api/v1/openapi.json` and `GET /api/v1/docs`; mount them last, once every other route is in the app. */
export function docsRoutes(app: ApiApp, kit: RouteKit, opts: { version: string }): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", { type: "http", scheme: "bearer" });
  let document: OpenApiDocument | undefined;

  const documentRoute = kit.route({
    method: "get",
    path: "/api/v1/openapi.json",
    operationId: "openApiDocument",
    summary: "This OpenAPI 3.1 document",
    description: "No token needed: it describes the API and holds no data.",
    tag: "docs",
    auth: "none",
    response: { schema: OpenApiDocumentResponse, description: "The OpenAPI document" },
  });
  // Written once, on first request: the routes are all mounted by then and never change.
  app.openapi(documentRoute, (c) => {
    document ??= openApiDocument(app, opts);
    return reply(c, documentRoute, { ...document });
  });

  const docsPage = kit.route({
    method: "get",
    path: "/api/v1/docs",
    operationId: "docsPage",
    summary: "Interactive docs page",
    description: "Self-contained HTML: every operation with a form to try it. No token needed to load it.",
    tag: "docs",
    auth: "none",
    response: { schema: z.string(), description: "The page", mediaType: "text/html" },
  });
  app.openapi(docsPage, (c) => {
    c.header("Content-Security-Policy", DOCS_PAGE_CSP);
    c.header("Cache-Control", "no-cache");
    return reply(c, docsPage, DOCS_PAGE_HTML);
  });
}
