#!/usr/bin/env bash
# The small tools a kubeadm node and its etcd image need besides Kubernetes itself: etcdctl (in
# the etcd image: the etcd-snapshot command runs it there through crictl), etcdutl (the test
# checks the snapshot with it), crictl (on the
# nodes) and CoreDNS (its image), from the Go module proxy; etcd itself comes from
# test/env/build-control-plane.sh.
# Cached in ${PLAN_RUNNER_CACHE:-~/.cache/plan-runner}/bin/extras-<versions>/; prints it last.
set -euo pipefail
ETCD_VERSION="${ETCD_VERSION:-v3.6.14}"
CRICTL_VERSION="${CRICTL_VERSION:-v1.34.0}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.14.2}"
cache_root="${PLAN_RUNNER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/plan-runner}"
bin="$cache_root/bin/extras-etcdctl-${ETCD_VERSION}_crictl-${CRICTL_VERSION}_coredns-${COREDNS_VERSION}"
say() { printf '[extras] %s\n' "$*" >&2; }
die() { printf '[extras] ERROR: %s\n' "$*" >&2; exit 1; }
have_all() { [[ -x "$bin/etcdctl" && -x "$bin/etcdutl" && -x "$bin/crictl" && -x "$bin/coredns" ]]; }
if have_all; then say "cached: $bin"; echo "$bin"; exit 0; fi
mkdir -p "$bin" "$cache_root/work"
exec 9>"$cache_root/work/k8s-build.lock"
flock -n 9 || { say "another build is running; waiting"; flock 9; }
export CGO_ENABLED=0 GOFLAGS=-mod=mod
if [[ ! -x "$bin/crictl" ]]; then
  say "building crictl ${CRICTL_VERSION}"
  GOBIN="$bin" nice -n 19 go install -trimpath -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=${CRICTL_VERSION}" \
    "sigs.k8s.io/cri-tools/cmd/crictl@${CRICTL_VERSION}" >&2 || die "building crictl failed"
fi
if [[ ! -x "$bin/etcdctl" ]]; then
  say "building etcdctl ${ETCD_VERSION}"
  w="$cache_root/work/etcdctl-${ETCD_VERSION}"; rm -rf "$w"; mkdir -p "$w"; cd "$w"
  go mod init local/etcdctlbin >/dev/null 2>&1
  go get "go.etcd.io/etcd/etcdctl/v3@${ETCD_VERSION}" >&2 || die "fetching etcdctl failed"
  nice -n 19 go build -trimpath -ldflags "-s -w" -o "$bin/etcdctl" go.etcd.io/etcd/etcdctl/v3 >&2 || die "building etcdctl failed"
fi
if [[ ! -x "$bin/etcdutl" ]]; then
  say "building etcdutl ${ETCD_VERSION} (the test verifies the etcd snapshot with it)"
  w="$cache_root/work/etcdutl-${ETCD_VERSION}"; rm -rf "$w"; mkdir -p "$w"; cd "$w"
  go mod init local/etcdutlbin >/dev/null 2>&1
  go get "go.etcd.io/etcd/etcdutl/v3@${ETCD_VERSION}" >&2 || die "fetching etcdutl failed"
  nice -n 19 go build -trimpath -ldflags "-s -w" -o "$bin/etcdutl" go.etcd.io/etcd/etcdutl/v3 >&2 || die "building etcdutl failed"
fi
if [[ ! -x "$bin/coredns" ]]; then
  say "building coredns ${COREDNS_VERSION}"
  GOBIN="$bin" nice -n 19 go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@${COREDNS_VERSION}" >&2 || die "building coredns failed"
fi
have_all || die "binaries missing from $bin"
say "done: $bin"
echo "$bin"
