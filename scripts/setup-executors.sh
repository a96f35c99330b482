#!/usr/bin/env bash
# Prepares this machine for the executors' integration tests (test/integration/executors-*.test.ts):
#   - Debian packages: prometheus (the removed-API check runs against a real one), debootstrap,
#     dpkg-dev (dpkg-deb, dpkg-scanpackages for the stand-in kubeadm/kubelet/kubectl repositories);
#   - a minimal Debian root made by debootstrap, cached OUTSIDE the repository and keyed by suite,
#     that the tests lay an overlay on so real apt and dpkg run against a throwaway host.
# Idempotent: a second run finds everything in place and only checks it. Needs root.
#
#   PLAN_RUNNER_CACHE   cache root (default: ${XDG_CACHE_HOME:-~/.cache}/plan-runner)
#   DEBIAN_SUITE        suite of the root (default: bookworm)
#   DEBIAN_MIRROR       mirror for debootstrap (default: the first http(s) mirror apt uses on this machine)
#
# Prints the root's path on its last line of stdout; progress goes to stderr.
set -euo pipefail

suite="${DEBIAN_SUITE:-bookworm}"
cache_root="${PLAN_RUNNER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/plan-runner}"
base="$cache_root/debootstrap/$suite-minbase"
root="$base/root"
ready="$base/.ready"

say() { printf '[setup-executors] %s\n' "$*" >&2; }
die() { printf '[setup-executors] ERROR: %s\n' "$*" >&2; exit 1; }

[[ "$(id -u)" == 0 ]] || die "must run as root (apt-get install, debootstrap, chroot)"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script expects Debian"

start=$(date +%s)

# shellcheck source=lib/apt-install.sh
source "$(dirname "$0")/lib/apt-install.sh"
apt_install_missing prometheus debootstrap dpkg-dev

mirror_guess() {
  local m
  m=$(grep -rhoE '(URIs:|deb)[[:space:]]+https?://[^[:space:]]+/debian/?([[:space:]]|$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
    | grep -oE 'https?://[^[:space:]]+' | grep -v -- '-security' | head -n1 || true)
  printf '%s' "$m"
}

if [[ -f "$ready" && -x "$root/usr/bin/apt-get" && -x "$root/usr/bin/dpkg" ]]; then
  say "debootstrap root cached: $root"
else
  mirror="${DEBIAN_MIRROR:-$(mirror_guess)}"
  [[ -n "$mirror" ]] || die "no Debian mirror found in /etc/apt/sources.list*: set DEBIAN_MIRROR"
  mkdir -p "$base"
  exec 9>"$base.lock"
  flock 9
  if [[ ! -f "$ready" ]]; then
    tmp="$base/root.tmp"
    rm -rf "$tmp"
    say "debootstrap --variant=minbase $suite from $mirror (a few minutes)"
    debootstrap --variant=minbase "$suite" "$tmp" "$mirror" >&2 \
      || die "debootstrap failed; see $tmp/debootstrap/debootstrap.log"
    # The tests talk only to their own file: repositories.
    rm -f "$tmp/etc/apt/sources.list"
    rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"* 2>/dev/null || true
    rm -rf "$root"
    mv "$tmp" "$root"
    date -u +%FT%TZ >"$ready"
  fi
  flock -u 9
fi

say "done in $(( $(date +%s) - start ))s"
echo "$root"
