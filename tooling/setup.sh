#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian machine with Node and npm: pnpm, the workspace's packages, nats-server.
set -euo pipefail
cd "$(dirname "$0")/.."

want_pnpm="12.4.2"
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$want_pnpm" ]; then
  echo "setup: installing pnpm@$want_pnpm with npm" >&2
  npm i -g "pnpm@$want_pnpm" >/dev/null
fi

if [ ! -f node_modules/.modules.yaml ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ] || [ -n "${CI:-}" ]; then
  echo "setup: pnpm install --frozen-lockfile" >&2
  pnpm install --frozen-lockfile --reporter=append-only >/dev/null
fi

# nats-server 2.10 or newer (cluster mode and JWT auth need it; Debian 12 ships 2.9.10): tooling/nats-server.sh finds
# one or unpacks Debian 13's package into .tools/ without touching the machine's apt configuration.
bash tooling/nats-server.sh >/dev/null

# Optional: `docker-compose config` validates docker-compose.yml in packages/testkit/test/lab.int.test.ts (skipped
# without it). Debian's docker-compose 1.29 installs in about 20 s with --no-install-recommends (without that flag
# apt would pull a whole Docker engine); a failure here only skips that check.
if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "setup: installing docker-compose with apt-get (optional: it validates docker-compose.yml)" >&2
    if ! apt-cache show docker-compose >/dev/null 2>&1; then apt-get update -qq >/dev/null 2>&1 || true; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null 2>&1 ||
      echo "setup: docker-compose could not be installed; the docker-compose.yml check will be skipped" >&2
  fi
fi

# Chromium for the console's end-to-end tests (apps/mixer/test/console, driven by playwright-core): Debian's
# `chromium` package, found at CHROMIUM_BIN or /usr/bin/chromium. Needs root and apt-get; elsewhere install
# Chromium or Chrome yourself and set CHROMIUM_BIN, or those tests fail saying so.
if [ -n "${CHROMIUM_BIN:-}" ] && [ -x "$CHROMIUM_BIN" ]; then
  :
elif [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "setup: installing chromium with apt-get (the console's browser tests drive it)" >&2
    if ! apt-cache show chromium >/dev/null 2>&1; then apt-get update -qq >/dev/null 2>&1 || true; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 ||
      echo "setup: chromium could not be installed; the console's browser tests will fail until it is (or CHROMIUM_BIN is set)" >&2
  else
    echo "setup: no chromium at /usr/bin/chromium and no root apt-get to install it: install Chromium or Chrome and set CHROMIUM_BIN, or the console's browser tests fail" >&2
  fi
fi
