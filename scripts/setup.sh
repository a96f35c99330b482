#!/usr/bin/env bash
# Everything the tests and the demo need on a fresh machine, idempotent and cached:
# npm packages, the test control plane (built from the Go module proxy) and the node-side
# test fixtures (Debian packages, a debootstrap root).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '[setup] %s\n' "$*" >&2; }

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "npm ci"
  npm ci --no-audit --no-fund >&2
fi

if [[ "${1:-}" != "--no-cluster" ]]; then
  bash test/env/build-control-plane.sh >/dev/null
fi
if [[ "${1:-}" == "--all" && -f scripts/setup-executors.sh ]]; then
  bash scripts/setup-executors.sh
fi
