#!/usr/bin/env bash
# Everything the tests and the demo need on a fresh machine, idempotent and cached:
# npm packages, the test control plane and the real nodes' kubelet (built from the Go module
# proxy), the node-side test fixtures (Debian packages, a debootstrap root), containerd and
# the images the real nodes run (built here with buildah).
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
if [[ "${1:-}" == "--all" ]]; then
  bash scripts/setup-executors.sh >/dev/null
  bash scripts/setup-real-node.sh
  # The real nodes' images, cached by their inputs (seconds when nothing changed).
  bash scripts/build-image.sh pause >/dev/null
  bash scripts/build-image.sh upgrade >/dev/null
fi
