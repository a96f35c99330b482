#!/usr/bin/env bash
# Removes everything real test nodes left under DIR (their kubelet, containerd, shims and
# containers, mounts, cgroups, log links), whether they were stopped or their test was SIGKILLed.
# Every process of a node names a path under DIR in its arguments (kubelet --root-dir,
# containerd --config, each shim's -address); every container lives in a cgroup whose name
# starts with CGROUP_PREFIX. Safe to run twice; never leaves DIR's filesystem.
#
#   real-node-cleanup.sh DIR CGROUP_PREFIX
set -u
dir="${1:?DIR}"
prefix="${2:?CGROUP_PREFIX}"
[[ "$dir" == /* && "$dir" != / && "$prefix" == plan-runner-* ]] || { echo "refusing: $dir $prefix" >&2; exit 2; }

named_procs() {
  local p
  for p in /proc/[0-9]*; do
    [[ "${p#/proc/}" == "$$" ]] && continue
    tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -qF -- "$dir/" && echo "${p#/proc/}"
  done
}
cgroup_procs() { cat /sys/fs/cgroup/*/"$prefix"*/cgroup.procs /sys/fs/cgroup/*/"$prefix"*/**/cgroup.procs 2>/dev/null; }

shopt -s globstar nullglob
# The kubelet first, so nothing restarts the containers; then the containers; then the shims and containerd.
for pid in $(named_procs); do
  grep -qF kubelet "/proc/$pid/comm" 2>/dev/null && kill -9 "$pid" 2>/dev/null
done
for _ in 1 2 3 4 5 6 7 8 9 10; do
  pids=$(cgroup_procs | sort -u)
  [[ -z "$pids" ]] && break
  kill -9 $pids 2>/dev/null
  sleep 0.2
done
for _ in 1 2 3 4 5; do
  pids=$(named_procs)
  [[ -z "$pids" ]] && break
  kill -9 $pids 2>/dev/null
  sleep 0.2
done

# Mounts the runtime and the kubelet made under DIR (rootfs overlays, shm, volumes), deepest first.
awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
  umount -l "$m" 2>/dev/null
done

for c in /sys/fs/cgroup/*/"$prefix"*; do
  find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
done
find /var/log/containers -maxdepth 1 -lname "$dir/*" -delete 2>/dev/null
rm -rf --one-file-system -- "$dir"
exit 0
