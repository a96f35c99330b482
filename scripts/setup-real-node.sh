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

wanted=(containerd runc containernetworking-plugins buildah podman skopeo iproute2 util-linux)
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  say "packages present: ${wanted[*]}"
  exit 0
fi
say "installing ${missing[*]}"
apt-get update -q >&2
# containerd's package would start the machine's own containerd where systemd runs: the tests
# start one per real node, with their own sockets and state, so block service starts here.
own_policy=0
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  own_policy=1
fi
status=0
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 || status=$?
((own_policy)) && rm -f /usr/sbin/policy-rc.d
((status == 0)) || die "apt-get install ${missing[*]} failed"
say "installed"
