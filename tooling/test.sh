#!/usr/bin/env bash
# The whole check, as CI runs it: set-up, build, type-check, lint, then every unit and integration test.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f .reports/vitest.json
bash tooling/setup.sh
NATS_SERVER_BIN=$(bash tooling/nats-server.sh)
export NATS_SERVER_BIN
pnpm exec turbo run build typecheck --output-logs=errors-only
pnpm exec tsc -p tsconfig.json
pnpm exec biome check .
pnpm exec vitest run "$@"
