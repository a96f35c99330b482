#!/usr/bin/env bash
# Builds the test control plane (kube-apiserver, kube-controller-manager, kube-scheduler,
# kubectl, etcd, kwok) and the kubelet of the tests' real nodes, at the same version, from the Go module proxy into a cache outside the repository, keyed
# by version. Idempotent: a version already in the cache is reused in milliseconds.
#
#   PLAN_RUNNER_CACHE   cache root (default: ${XDG_CACHE_HOME:-~/.cache}/plan-runner)
#
# Prints the bin directory on its last line of stdout; progress goes to stderr: each step, its
# elapsed time every 30s (PROGRESS_INTERVAL) and its log under the cache's work/ directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.14}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"

cache_root="${PLAN_RUNNER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/plan-runner}"
key="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}"
bin="$cache_root/bin/$key"
k8s_cmds=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet)
wanted=("${k8s_cmds[@]}" etcd kwok)

say() { printf '[control-plane build] %s\n' "$*" >&2; }
export PROGRESS_PREFIX="[control-plane build]"
# shellcheck source=progress.sh
source "$here/progress.sh"
die() { printf '[control-plane build] ERROR: %s\n' "$*" >&2; exit 1; }

have_all() {
  local b
  for b in "${wanted[@]}"; do [[ -x "$bin/$b" ]] || return 1; done
}

if have_all; then
  say "cached: $bin"
  echo "$bin"
  exit 0
fi

command -v go >/dev/null 2>&1 || die "Go is not installed (need Go >= 1.26 to build the test control plane); install it and re-run"
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
[[ "$go_minor" =~ ^[0-9]+$ && "$go_minor" -ge 26 ]] || die "Go $(go env GOVERSION) is too old: Kubernetes ${K8S_VERSION} needs Go >= 1.26"
[[ "$(go env GOPROXY)" != "off" ]] || die "GOPROXY is off: the build needs the Go module proxy"

mkdir -p "$bin" "$cache_root/work"
lock="$cache_root/work/$key.lock"
exec 9>"$lock"
if ! flock -n 9; then
  say "another build of $key is running; waiting for it"
  flock 9
  have_all && { echo "$bin"; exit 0; }
fi

export CGO_ENABLED=0 GOFLAGS=-mod=mod
start=$(date +%s)

# kwok: its go.mod has no replace directives, so a plain install works.
logs="$cache_root/work/$key.logs"
if [[ ! -x "$bin/kwok" ]]; then
  with_progress "building kwok ${KWOK_VERSION}" "$logs/kwok.log" \
    env GOBIN="$bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}" \
    || die "building kwok ${KWOK_VERSION} failed (is the Go module proxy reachable?)"
fi

# etcd: a wrapper module pins the server module.
if [[ ! -x "$bin/etcd" ]]; then
  w="$cache_root/work/etcd-${ETCD_VERSION}"
  rm -rf "$w" && mkdir -p "$w" && cd "$w"
  go mod init local/etcdbin >/dev/null 2>&1
  with_progress "fetching etcd ${ETCD_VERSION}" "$logs/etcd-fetch.log" go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" \
    || die "fetching etcd ${ETCD_VERSION} failed (is the Go module proxy reachable?)"
  with_progress "compiling etcd ${ETCD_VERSION}" "$logs/etcd-compile.log" go build -v -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3 \
    || die "building etcd failed"
fi

# Kubernetes: through a wrapper module (k8s-wrapper.sh says why).
missing=()
for b in "${k8s_cmds[@]}"; do [[ -x "$bin/$b" ]] || missing+=("$b"); done
if ((${#missing[@]})); then
  say "building ${missing[*]} ${K8S_VERSION}: the first run takes 10-30 min on 2 cores, cached afterwards"
  # shellcheck source=k8s-wrapper.sh
  source "$here/k8s-wrapper.sh"
  k8s_build "$K8S_VERSION" "$cache_root/work/k8s-${K8S_VERSION}" "$bin" "${missing[@]}"
fi

have_all || die "build finished but binaries are missing from $bin"
say "done in $(( $(date +%s) - start ))s: $bin"
echo "$bin"
