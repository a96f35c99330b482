#!/usr/bin/env bash
# Prepares this machine for the real-node tests (test/integration/real-node-*.test.ts) and the
# image build: Debian's containerd, runc and CNI plugins for the real kubelet, buildah, podman
# and skopeo for `npm run image`, iproute2 and util-linux for the test's own network namespace.
# The kubelet itself is built with the control plane (test/env/build-control-plane.sh) and the
# images by scripts/build-image.sh. Idempotent; needs root. Starts no service.
set -euo pipefail
say() { printf '[setup-real-node] %s\n' "$*" >&2; }
die() { printf '[setup-real-node] ERROR: %s\n' "$*" >&2; exit 1; }

[[ "$(id -u)" == 0 ]] || die "must run as root (apt-get install)"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script expects Debian"

# shellcheck source=lib/apt-install.sh
source "$(dirname "$0")/lib/apt-install.sh"
apt_install_missing containerd runc containernetworking-plugins buildah podman skopeo iproute2 util-linux
