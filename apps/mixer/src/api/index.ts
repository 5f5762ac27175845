// Public surface of the REST API module: build the app, serve it, and the types the Mixer wires it with.
export type { ApiAuth, ApiDeps, ApiEnv, ConsoleAssets, PrometheusExposition } from "./api-deps.js";
export { ACTOR_HEADER } from "./api-route.js";
export {
  ApiListenAddressError,
  ApiListenError,
  type ApiServer,
  parseListen,
  startApiServer,
} from "./api-server.js";
export { loadConsoleAssets } from "./console-routes.js";
export { createApi } from "./create-api.js";
