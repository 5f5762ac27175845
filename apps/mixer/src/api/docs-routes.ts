// The OpenAPI document and the docs page; both public, as they hold no secrets and the page needs the document.
import { z } from "zod";
import { DOCS_PAGE_CSP, DOCS_PAGE_HTML } from "./docs-page.js";
import type { OpenApiDocument } from "./openapi-document.js";
import { type ApiRoute, defineRoute } from "./route-spec.js";
import { OpenApiDocumentResponse } from "./schemas.js";

/** `GET /api/v1/openapi.json` and `GET /api/v1/docs`; `document` is built once the whole table is known. */
export function docsRoutes(document: () => OpenApiDocument): ApiRoute[] {
  return [
    defineRoute({
      method: "get",
      path: "/api/v1/openapi.json",
      operationId: "openApiDocument",
      summary: "This OpenAPI 3.1 document",
      description: "No token needed: it describes the API and holds no data.",
      tag: "docs",
      auth: "none",
      response: { schema: OpenApiDocumentResponse, description: "The OpenAPI document" },
      handle: () => document(),
    }),
    defineRoute({
      method: "get",
      path: "/api/v1/docs",
      operationId: "docsPage",
      summary: "Interactive docs page",
      description: "Self-contained HTML: every operation with a form to try it. No token needed to load it.",
      tag: "docs",
      auth: "none",
      response: { schema: z.string(), description: "The page", mediaType: "text/html" },
      handle: ({ c }) => {
        c.header("Content-Security-Policy", DOCS_PAGE_CSP);
        c.header("Cache-Control", "no-cache");
        return DOCS_PAGE_HTML;
      },
    }),
  ];
}
