# syntax=docker/dockerfile:1
# fluxrig images on node:22-slim: `--target fluxrig-mixer` (the default, last stage) and `--target fluxrig-rack`.
# docker-compose.yml builds both for the lab; docs/lab.md explains the stages.

# ---- build: the whole workspace, as CI builds it ----------------------------------------------------------------
FROM node:22-slim AS build
# The version suffix of the binaries (`0.1.0+<sha>`): the build context has no .git, so pass it in.
ARG FLUXRIG_GIT_SHA=unknown
ENV FLUXRIG_GIT_SHA=${FLUXRIG_GIT_SHA} CI=1 TURBO_TELEMETRY_DISABLED=1
WORKDIR /src
RUN npm i -g pnpm@12.4.2
COPY . .
RUN pnpm install --frozen-lockfile && pnpm build
# The Mixer's bundle inlines every dependency except DuckDB's native module (@duckdb/node-api, which loads the
# platform's @duckdb/node-bindings-*). `pnpm deploy` writes a node_modules holding the Mixer's production
# dependencies only, resolved from the lockfile, with the binding for this platform and its symlinks intact.
RUN pnpm --filter @fluxrig/mixer deploy --prod /out/mixer

# ---- fluxrig-rack: one self-contained bundle (no native code, never DuckDB) -------------------------------------
FROM node:22-slim AS fluxrig-rack
ENV NODE_ENV=production FLUXRIG_RACK_STATE_DIR=/state
WORKDIR /app
# package.json only for `"type": "module"`: the bundle is ESM.
COPY --from=build /src/apps/rack/package.json ./
COPY --from=build /src/apps/rack/dist/ ./dist/
RUN mkdir -p /state && chown node:node /state && chmod 700 /state
USER node
VOLUME ["/state"]
# No --enable-source-maps on the edge: it costs the Rack 5.3 MB of RSS pending and 5.9 MB active (node loads more of
# itself and keeps each map), a tenth of its footprint (bench/README.md, "The Rack's footprint"). Stack traces keep
# the functions' names; the maps ship beside the bundle, so `-e NODE_OPTIONS=--enable-source-maps` maps them to the
# TypeScript when debugging. The Mixer keeps the flag: about 2 MB there.
ENTRYPOINT ["node", "/app/dist/fluxrig-rack.js"]
CMD ["run"]

# ---- fluxrig-mixer (default): the bundle, DuckDB's native module, and the operator CLI ---------------------------
FROM node:22-slim AS fluxrig-mixer
ENV NODE_ENV=production FLUXRIG_MIXER_DATA_DIR=/data FLUXRIG_API_LISTEN=0.0.0.0:8090
WORKDIR /app
COPY --from=build /out/mixer/package.json ./
COPY --from=build /out/mixer/node_modules/ ./node_modules/
COPY --from=build /src/apps/mixer/dist/ ./dist/
# `docker compose exec mixer fluxrig racks list`: the CLI bundle is self-contained too.
COPY --from=build /src/apps/cli/dist/ ./cli/
RUN ln -s /app/cli/fluxrig.js /usr/local/bin/fluxrig \
  && mkdir -p /data /auth && chown node:node /data /auth && chmod 700 /data
USER node
VOLUME ["/data"]
EXPOSE 8090
# /health answers whenever the API listens; node:22-slim has no curl, so node's fetch does the probe.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=5 \
  CMD ["node", "-e", "const p=(process.env.FLUXRIG_API_LISTEN||'').split(':').pop()||'8090';fetch('http://127.0.0.1:'+p+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "--enable-source-maps", "/app/dist/fluxrig-mixer.js"]
