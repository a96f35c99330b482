#!/usr/bin/env bash
# Host packages for the kubeadm VM end-to-end test (npm run e2e:kubeadm). Idempotent: installs
# only what is missing, from the machine's configured apt sources.
set -euo pipefail
pkgs=(qemu-system-x86 qemu-utils debootstrap dpkg-dev apt-utils containerd runc buildah podman e2fsprogs openssh-client iproute2 bridge-utils busybox-static)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then echo "[setup-vm] all present" >&2; exit 0; fi
[[ "$(id -u)" == 0 ]] || { echo "[setup-vm] must run as root to install: ${missing[*]}" >&2; exit 1; }
echo "[setup-vm] installing ${missing[*]}" >&2
apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
