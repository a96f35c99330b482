#!/usr/bin/env bash
# The VMs' base disk: the guest root (build-guest-root.sh) plus the test's ssh key and every
# image the cluster will run, preloaded by a containerd on this machine whose root is the
# guest's /var/lib/containerd (seconds; importing inside a TCG guest takes minutes). Written with
# mkfs.ext4 -d (no loop mount). Each VM boots a qcow2 overlay of it.
#   GUEST_ROOT=... SSH_PUB=... PAUSE_TAG=registry.k8s.io/pause:3.10.2 bash build-disk.sh ARCHIVE_OR_DIR...
# Each argument is an OCI archive or a directory of them (with an optional tags.txt of
# "SOURCE TARGET" lines). Cached by content in ${PLAN_RUNNER_CACHE}/e2e-kubeadm/disks/; prints the raw disk.
set -euo pipefail
GUEST_ROOT="${GUEST_ROOT:?}"; SSH_PUB="${SSH_PUB:?}"; PAUSE_TAG="${PAUSE_TAG:?}"; DISK_SIZE="${DISK_SIZE:-8G}"
cache_root="${PLAN_RUNNER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/plan-runner}"
base="$cache_root/e2e-kubeadm/disks"; mkdir -p "$base"
say() { printf '[disk] %s\n' "$*" >&2; }
die() { printf '[disk] ERROR: %s\n' "$*" >&2; exit 1; }
archives=(); tagfiles=()
for a in "$@"; do
  if [[ -d "$a" ]]; then
    for f in "$a"/*.oci.tar; do [[ -f "$f" ]] && archives+=("$f"); done
    [[ -f "$a/tags.txt" ]] && tagfiles+=("$a/tags.txt")
  else archives+=("$a"); fi
done
key=$( (cat "$0" "$GUEST_ROOT/.ready" "$SSH_PUB"; echo "$PAUSE_TAG $DISK_SIZE"; printf '%s\n' "${archives[@]}" | sort; cat "${tagfiles[@]}" /dev/null) | sha256sum | cut -c1-12)
disk="$base/base-$key.raw"
if [[ -f "$disk" ]]; then say "cached: $disk"; echo "$disk"; exit 0; fi
exec 9>"$base/.lock"; flock 9
[[ -f "$disk" ]] && { echo "$disk"; exit 0; }
start=$(date +%s)
work="$base/work-$key"; rm -rf "$work"; mkdir -p "$work"
ctrd_pid=""
cleanup() { [[ -n "$ctrd_pid" ]] && kill "$ctrd_pid" 2>/dev/null && wait "$ctrd_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
root="$work/root"
say "copying the guest root"
cp -a "$GUEST_ROOT" "$root"; rm -f "$root/.ready"
install -m 0600 "$SSH_PUB" "$root/root/.ssh/authorized_keys"
# The guests have no resolver: point them at the bridge (nothing answers, queries fail fast)
# rather than at this machine's own resolver, which they cannot reach.
rm -f "$root/etc/resolv.conf"; echo "nameserver 10.217.1.1" >"$root/etc/resolv.conf"
sed -i "s#sandbox_image = .*#sandbox_image = \"$PAUSE_TAG\"#" "$root/etc/containerd/config.toml"

# A containerd of our own, in a network namespace of its own, with no CRI: only the image store.
mkdir -p "$work/state"
cat >"$work/containerd.toml" <<X
version = 2
root = "$root/var/lib/containerd"
state = "$work/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$work/containerd.sock"
[ttrpc]
  address = "$work/containerd.sock.ttrpc"
[debug]
  address = ""
X
unshare --net containerd --config "$work/containerd.toml" >"$work/containerd.log" 2>&1 &
ctrd_pid=$!
for _ in $(seq 50); do [[ -S "$work/containerd.sock" ]] && break; sleep 0.2; done
ctr() { command ctr --address "$work/containerd.sock" -n k8s.io "$@"; }
ctr version >/dev/null || die "containerd did not start: $(tail -5 "$work/containerd.log")"
for a in "${archives[@]}"; do
  say "import $(basename "$a")"
  ctr images import --all-platforms "$a" >&2 || die "importing $a failed"
done
for t in "${tagfiles[@]}"; do
  while read -r src dst; do [[ -n "$src" ]] && { ctr images tag --force "$src" "$dst" >&2 || die "tag $src $dst"; }; done <"$t"
done
ctr images ls -q | sort >"$work/images.txt"
say "images: $(tr '\n' ' ' <"$work/images.txt")"
kill "$ctrd_pid"; wait "$ctrd_pid" 2>/dev/null || true; ctrd_pid=""
cp "$work/images.txt" "$root/etc/plan-runner-e2e-images.txt"
say "mkfs.ext4 -d ($DISK_SIZE)"
truncate -s "$DISK_SIZE" "$work/disk.raw"
mkfs.ext4 -q -F -L root -d "$root" "$work/disk.raw" >&2 || die "mkfs.ext4 failed"
mv "$work/disk.raw" "$disk"
cp "$work/images.txt" "$disk.images.txt"
ls -1t "$base"/base-*.raw | tail -n +3 | while read -r old; do rm -f "$old" "$old.images.txt"; done
say "done in $(( $(date +%s) - start ))s: $disk"
echo "$disk"
