// Public surface of the REST API module: build the app, serve it, and the types the Mixer wires it with.
export type { ApiAuth, ApiDeps, ApiEnv } from "./api-deps.js";
export { ApiError, type ErrorBody, errorBody } from "./api-error.js";
export {
  ApiListenAddressError,
  ApiListenError,
  type ApiServer,
  parseListen,
  startApiServer,
} from "./api-server.js";
export { apiRoutes, createApi } from "./create-api.js";
export { buildOpenApiDocument, type OpenApiDocument } from "./openapi-document.js";
export { ACTOR_HEADER } from "./route-registrar.js";
