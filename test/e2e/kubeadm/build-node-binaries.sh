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

export CGO_ENABLED=0 GOFLAGS=-mod=mod
start=$(date +%s)
staging_version="v0.${K8S_VERSION#v1.}"
minor=$(echo "$K8S_VERSION" | cut -d. -f2)
w="$cache_root/work/k8s-node-${K8S_VERSION}"
rm -rf "$w" && mkdir -p "$w" && cd "$w"
go mod init local/k8snodebins >/dev/null 2>&1
gomod=$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[[ -f "$gomod" ]] || die "could not download k8s.io/kubernetes@${K8S_VERSION}'s go.mod (is the Go module proxy reachable?)"
mapfile -t staging < <(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod")
[[ ${#staging[@]} -gt 10 ]] || die "found no staging modules in $gomod"
for m in "${staging[@]}"; do go mod edit "-replace=$m=$m@$staging_version"; done
go get "k8s.io/kubernetes@${K8S_VERSION}" >&2 || die "resolving k8s.io/kubernetes@${K8S_VERSION} failed"
{
  echo '//go:build tools'; echo; echo 'package tools'; echo; echo 'import ('
  for b in "${cmds[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$b\""; done
  echo ')'
} > tools.go
go mod tidy -e >&2 || true
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${K8S_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor} -X k8s.io/client-go/pkg/version.gitVersion=${K8S_VERSION}"
missing=()
for b in "${cmds[@]}"; do [[ -x "$bin/$b" ]] || missing+=("k8s.io/kubernetes/cmd/$b"); done
say "go build ${missing[*]##*/} (cold: 20-30 min on 2 cores)"
# One go build for all commands: shared packages are compiled once, in parallel.
tmp="$w/out" && mkdir -p "$tmp"
nice -n 19 go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${missing[@]}" >&2 || die "go build failed"
for f in "$tmp"/*; do mv "$f" "$bin/"; done
have_all || die "build finished but binaries are missing from $bin"
"$bin/kubeadm" version -o short | grep -qx "$K8S_VERSION" || die "kubeadm reports $("$bin/kubeadm" version -o short), not $K8S_VERSION"
say "done in $(( $(date +%s) - start ))s: $bin"
echo "$bin"
