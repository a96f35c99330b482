#!/usr/bin/env bash
# Builds the Kubernetes binaries a kubeadm node needs for one version (kubeadm, kubelet,
# kubectl, kube-proxy) plus the control-plane commands its static pods run (kube-apiserver,
# kube-controller-manager, kube-scheduler), from the Go module proxy, with the same wrapper
# module as test/env/build-control-plane.sh. Cached outside the repository, keyed by version:
#
#   ${PLAN_RUNNER_CACHE:-~/.cache/plan-runner}/bin/k8s-node-<version>/
#
# Binaries the control-plane cache already holds for the same version are reused (hard links).
# Only one Kubernetes build runs at a time on the machine (a shared lock), at nice 19.
#
#   K8S_VERSION=v1.35.4 bash test/e2e/kubeadm/build-node-binaries.sh
#
# Prints the bin directory on its last line of stdout; progress goes to stderr.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:?set K8S_VERSION, e.g. v1.35.4}"
cache_root="${PLAN_RUNNER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/plan-runner}"
bin="$cache_root/bin/k8s-node-${K8S_VERSION}"
cmds=(kubeadm kubelet kubectl kube-proxy kube-apiserver kube-controller-manager kube-scheduler)

say() { printf '[node binaries %s] %s\n' "$K8S_VERSION" "$*" >&2; }
die() { printf '[node binaries %s] ERROR: %s\n' "$K8S_VERSION" "$*" >&2; exit 1; }
have_all() { local b; for b in "${cmds[@]}"; do [[ -x "$bin/$b" ]] || return 1; done; }

if have_all; then say "cached: $bin"; echo "$bin"; exit 0; fi

command -v go >/dev/null 2>&1 || die "Go is not installed (need Go >= 1.26)"
[[ "$(go env GOPROXY)" != "off" ]] || die "GOPROXY is off: the build needs the Go module proxy"
mkdir -p "$bin" "$cache_root/work"

# One Kubernetes build at a time (this script and others that take the same lock).
exec 9>"$cache_root/work/k8s-build.lock"
if ! flock -n 9; then say "another Kubernetes build is running; waiting"; flock 9; fi
have_all && { echo "$bin"; exit 0; }

# Reuse what the control-plane cache built for the same version.
for d in "$cache_root"/bin/k8s-"${K8S_VERSION}"_*; do
  [[ -d "$d" ]] || continue
  for b in "${cmds[@]}"; do
    [[ -x "$d/$b" && ! -x "$bin/$b" ]] && { ln "$d/$b" "$bin/$b" 2>/dev/null || cp "$d/$b" "$bin/$b"; say "reused $b from $d"; }
  done
done
have_all && { say "done (all reused): $bin"; echo "$bin"; exit 0; }

start=$(date +%s)
missing=()
for b in "${cmds[@]}"; do [[ -x "$bin/$b" ]] || missing+=("$b"); done
say "go build ${missing[*]} (cold: 20-30 min on 2 cores)"
# shellcheck source=../../env/k8s-wrapper.sh
source "$(dirname "$0")/../../env/k8s-wrapper.sh"
K8S_BUILD_NICE=19 k8s_build "$K8S_VERSION" "$cache_root/work/k8s-node-${K8S_VERSION}" "$bin" "${missing[@]}"
have_all || die "build finished but binaries are missing from $bin"
"$bin/kubeadm" version -o short | grep -qx "$K8S_VERSION" || die "kubeadm reports $("$bin/kubeadm" version -o short), not $K8S_VERSION"
say "done in $(( $(date +%s) - start ))s: $bin"
echo "$bin"
