#!/usr/bin/env bash
# The control-plane images kubeadm runs for one Kubernetes version, built locally (nothing is
# pulled) and named exactly as `kubeadm config images list --kubernetes-version X` of that
# version's kubeadm says:
#   kube-apiserver, kube-controller-manager, kube-scheduler  FROM scratch + the static binary
#   kube-proxy   a Debian minbase root with iptables/conntrack (kube-proxy runs iptables) + binary
#   etcd         FROM scratch + etcd and etcdctl (etcd-snapshot runs etcdctl in the etcd pod);
#                the test's etcd (test/env/build-control-plane.sh) under kubeadm's etcd tag
#   pause        scripts/build-image.sh pause, also tagged with kubeadm's pause tag
#   coredns      FROM scratch + coredns as ENTRYPOINT (kubeadm's Deployment passes only args)
# Output: OCI archives in ${PLAN_RUNNER_CACHE:-~/.cache/plan-runner}/e2e-kubeadm/images/<version>-<hash>/;
# prints that directory last. Also writes tags.txt there (extra tags: "SOURCE TARGET" per line).
#   K8S_VERSION=v1.35.4 NODE_BIN=... EXTRAS_BIN=... ETCD_BIN=... bash test/e2e/kubeadm/build-images.sh
set -euo pipefail
K8S_VERSION="${K8S_VERSION:?}"; NODE_BIN="${NODE_BIN:?}"; EXTRAS_BIN="${EXTRAS_BIN:?}"; ETCD_BIN="${ETCD_BIN:?}"
cache_root="${PLAN_RUNNER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/plan-runner}"
base="$cache_root/e2e-kubeadm"
say() { printf '[images %s] %s\n' "$K8S_VERSION" "$*" >&2; }
die() { printf '[images %s] ERROR: %s\n' "$K8S_VERSION" "$*" >&2; exit 1; }
hash=$( (cat "$0"; sha256sum "$NODE_BIN"/kube-* "$ETCD_BIN/etcd" "$EXTRAS_BIN/etcdctl" "$EXTRAS_BIN/coredns") | sha256sum | cut -c1-12)
out="$base/images/$K8S_VERSION-$hash"
if [[ -f "$out/.ready" ]]; then say "cached: $out"; echo "$out"; exit 0; fi

mapfile -t list < <("$NODE_BIN/kubeadm" config images list --kubernetes-version "$K8S_VERSION")
img() { printf '%s\n' "${list[@]}" | grep -E "/$1:" | head -n1; }
for c in kube-apiserver kube-controller-manager kube-scheduler kube-proxy etcd coredns pause; do [[ -n "$(img "$c")" ]] || die "kubeadm lists no $c image"; done

engine="$base/containers"; mkdir -p "$engine" "$base/images"
exec 9>"$base/images/.lock"; flock 9
cat >"$engine/containers.conf" <<X
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
netns = "none"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "none"
X
cat >"$engine/storage.conf" <<X
[storage]
driver = "overlay"
graphroot = "$engine/storage"
runroot = "$engine/run"
X
export CONTAINERS_CONF="$engine/containers.conf" CONTAINERS_STORAGE_CONF="$engine/storage.conf"
tmp="$out.tmp"; rm -rf "$tmp"; mkdir -p "$tmp"
start=$(date +%s)
PATHENV="PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"

# scratch_image NAME FILE...: FROM scratch with the files in /usr/local/bin.
scratch_image() {
  local name=$1; shift
  local c; c=$(buildah from scratch)
  for f in "$@"; do buildah copy --chmod 0755 "$c" "$f" "/usr/local/bin/$(basename "$f")" >/dev/null; done
  buildah config --env "$PATHENV" --entrypoint '[]' --cmd "/usr/local/bin/$(basename "$1")" "$c"
  buildah commit -q --rm "$c" "$name" >/dev/null
}
save() { local name=$1 file; file="$tmp/$(echo "$name" | tr '/:' '__').oci.tar"
  buildah push -q "$name" "oci-archive:$file:$name" >&2 || die "saving $name failed"; }

for c in kube-apiserver kube-controller-manager kube-scheduler; do
  say "$(img $c)"; scratch_image "$(img $c)" "$NODE_BIN/$c"; save "$(img $c)"
done
say "$(img etcd) (etcd $("$ETCD_BIN/etcd" --version | sed -n 's/^etcd Version: //p'))"
scratch_image "$(img etcd)" "$ETCD_BIN/etcd" "$EXTRAS_BIN/etcdctl"; save "$(img etcd)"

say "$(img coredns)"
c=$(buildah from scratch)
buildah copy --chmod 0755 "$c" "$EXTRAS_BIN/coredns" /coredns >/dev/null
buildah config --env "$PATHENV" --entrypoint '["/coredns"]' --cmd '' "$c"
buildah commit -q --rm "$c" "$(img coredns)" >/dev/null; save "$(img coredns)"

# kube-proxy's base: the cached minbase root (scripts/setup-executors.sh) plus iptables and
# conntrack from the machine's Debian mirror, made once.
proxy_root="$base/kube-proxy-base"
if [[ ! -f "$proxy_root/.ready" ]]; then
  say "kube-proxy base: minbase + iptables conntrack"
  minbase=$(bash "$(dirname "$0")/../../../scripts/setup-executors.sh" | tail -n1)
  rm -rf "$proxy_root.tmp"; cp -a "$minbase" "$proxy_root.tmp"
  mirror=$(grep -rhoE '(URIs:|deb)[[:space:]]+https?://[^[:space:]]+/debian/?([[:space:]]|$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
    | grep -oE 'https?://[^[:space:]]+' | grep -v -- '-security' | head -n1 || true)
  [[ -n "$mirror" ]] || die "no Debian mirror in the machine's apt sources"
  echo "deb $mirror bookworm main" >"$proxy_root.tmp/etc/apt/sources.list"
  cp /etc/resolv.conf "$proxy_root.tmp/etc/resolv.conf"
  [[ -d /etc/apt/apt.conf.d ]] && cp /etc/apt/apt.conf.d/* "$proxy_root.tmp/etc/apt/apt.conf.d/" 2>/dev/null || true
  chroot "$proxy_root.tmp" apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive chroot "$proxy_root.tmp" apt-get install -y -q --no-install-recommends iptables conntrack kmod >&2
  rm -f "$proxy_root.tmp/etc/apt/sources.list" "$proxy_root.tmp/etc/resolv.conf"
  rm -rf "$proxy_root.tmp/var/lib/apt/lists/"* "$proxy_root.tmp/var/cache/apt/archives/"*.deb
  touch "$proxy_root.tmp/.ready"; rm -rf "$proxy_root"; mv "$proxy_root.tmp" "$proxy_root"
fi
say "$(img kube-proxy)"
c=$(buildah from scratch); m=$(buildah mount "$c")
cp -a "$proxy_root/." "$m/"; rm -f "$m/.ready"
install -m 0755 "$NODE_BIN/kube-proxy" "$m/usr/local/bin/kube-proxy"
buildah umount "$c" >/dev/null
buildah config --env "$PATHENV" --entrypoint '[]' --cmd /usr/local/bin/kube-proxy "$c"
buildah commit -q --rm "$c" "$(img kube-proxy)" >/dev/null; save "$(img kube-proxy)"

pause=$(bash "$(dirname "$0")/../../../scripts/build-image.sh" pause | tail -n1)
cp "$pause" "$tmp/pause.oci.tar"
echo "registry.k8s.io/pause:3.10 $(img pause)" >"$tmp/tags.txt"
printf '%s\n' "${list[@]}" >"$tmp/kubeadm-images.txt"
touch "$tmp/.ready"; rm -rf "$out"; mv "$tmp" "$out"
say "done in $(( $(date +%s) - start ))s: $out ($(du -sh "$out" | cut -f1))"
echo "$out"
