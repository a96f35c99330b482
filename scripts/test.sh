#!/usr/bin/env bash
# The test command: sets up what is missing (cached after the first run), then the static
# checks, the unit tests and the integration tests against a real control plane.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --all

echo "== generated files up to date"; npm run -s gen:check
echo "== typecheck"; npm run -s typecheck
echo "== lint"; npm run -s lint
echo "== unit"; npm run -s test:unit
echo "== integration"; npm run -s test:integration
