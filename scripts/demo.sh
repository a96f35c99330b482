#!/usr/bin/env bash
# The README's first command: set up what is missing (npm packages, the control plane binaries,
# built once from the Go module proxy and cached), then run the demo rollout.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx scripts/demo.ts "$@"
