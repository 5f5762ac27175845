#!/usr/bin/env bash
# The one-command local lab: set-up, build, then nats-server + Mixer + Racks as child processes (tooling/lab/main.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

setup=1
build=1
help=0
for arg in "$@"; do
  case "$arg" in
    --no-setup) setup=0 ;;
    --no-build) build=0 ;;
    -h | --help) help=1 ;;
  esac
done

# --help needs only the TypeScript runner; it skips the build, and the set-up too when it was done before.
if [ "$help" = 1 ]; then
  build=0
  if [ -d node_modules/tsx ]; then setup=0; fi
fi

if [ "$setup" = 1 ]; then
  bash tooling/setup.sh
fi

if [ "$build" = 1 ]; then
  echo "lab: building the Mixer and the Rack (turbo run build)" >&2
  pnpm exec turbo run build --filter=@fluxrig/mixer --filter=@fluxrig/rack --output-logs=errors-only
  # The operator CLI (Path C) is optional for the lab: the printed curl command does the same.
  if [ -f apps/cli/src/main.ts ]; then
    if ! pnpm exec turbo run build --filter=@fluxrig/cli --output-logs=errors-only >/dev/null 2>&1; then
      echo "lab: the CLI (apps/cli) did not build; use the curl commands the lab prints instead" >&2
    fi
  fi
fi

if [ ! -d node_modules/tsx ]; then
  echo "lab: node_modules is missing: run without --no-setup (or 'bash tooling/setup.sh') first" >&2
  exit 2
fi

# The lab runs the project's nats-server (2.10 or newer, see tooling/nats-server.sh).
if NATS_SERVER_BIN=$(bash tooling/nats-server.sh); then export NATS_SERVER_BIN; fi

# One node process runs the lab (no pnpm/tsx wrapper in between), so signals reach it directly.
exec node --conditions=@fluxrig/source --import tsx tooling/lab/main.ts "$@"
