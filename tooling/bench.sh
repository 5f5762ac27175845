#!/usr/bin/env bash
# Runs every benchmark and writes its figures under bench-results/ (JSON per suite plus a summary table).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tooling/setup.sh
mkdir -p bench-results
pnpm exec turbo run build --output-logs=errors-only
# Micro-benchmarks: *.bench.ts beside the code (codec, passport, wire decode, DuckDB flush).
pnpm exec vitest bench --run --project unit --outputJson bench-results/micro.json
# Macro benchmarks: real nats-server and real processes (each script writes bench-results/<name>.json).
for script in bench/*.bench.ts; do
  [ -e "$script" ] || continue
  echo "== $script"
  pnpm exec tsx --conditions=@fluxrig/source "$script" "$@"
done
node tooling/bench-summary.mjs
