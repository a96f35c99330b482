#!/usr/bin/env bash
# The guest root file system of the kubeadm VMs: debootstrap bookworm with a kernel, systemd,
# containerd, runc, CNI plugins and sshd, configured once (fstab, /etc/hosts, containerd for
# cgroup v2 with the systemd driver, kernel modules and sysctls kubeadm's preflight wants, a
# first-boot unit that takes hostname/address/pod CIDR from the kernel command line).
# Cached: ${PLAN_RUNNER_CACHE:-~/.cache/plan-runner}/vm/guest-root-<hash>/ (the hash covers this
# script). Prints the root's path on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache_root="${PLAN_RUNNER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/plan-runner}"
hash=$(cat "$0" "$here/guest-firstboot.sh" | sha256sum | cut -c1-12)
root="$cache_root/vm/guest-root-$hash"
say() { printf '[guest root] %s\n' "$*" >&2; }
die() { printf '[guest root] ERROR: %s\n' "$*" >&2; exit 1; }
if [[ -f "$root/.ready" ]]; then say "cached: $root"; echo "$root"; exit 0; fi

mirror_guess() {
  local m
  m=$(grep -rhoE '(URIs:|deb)[[:space:]]+https?://[^[:space:]]+/debian/?([[:space:]]|$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
    | grep -oE 'https?://[^[:space:]]+' | grep -v -- '-security' | head -n1 || true)
  [[ -n "$m" ]] || die "no Debian mirror found in the machine's apt sources; set DEBIAN_MIRROR"
  printf '%s' "$m"
}
mirror="${DEBIAN_MIRROR:-$(mirror_guess)}"
mkdir -p "$cache_root/vm"
exec 9>"$cache_root/vm/guest-root.lock"; flock 9
[[ -f "$root/.ready" ]] && { echo "$root"; exit 0; }
tmp="$root.tmp"; rm -rf "$tmp"
include=systemd,systemd-sysv,udev,dbus,kmod,iproute2,iptables,conntrack,ethtool,socat,ebtables,procps,\
linux-image-cloud-amd64,containerd,runc,containernetworking-plugins,openssh-server,ca-certificates,less
start=$(date +%s)
say "debootstrap bookworm from $mirror (a few minutes)"
nice -n 19 debootstrap --variant=minbase --include="$include" bookworm "$tmp" "$mirror" >&2 \
  || die "debootstrap failed; see $tmp/debootstrap/debootstrap.log"

# The guests reach no mirror: the only apt source is the test's own Kubernetes repository,
# written at install time.
rm -f "$tmp/etc/apt/sources.list"
rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"*
echo 'root:plan-runner' | chroot "$tmp" chpasswd
printf '/dev/vda / ext4 rw,relatime 0 1\n' >"$tmp/etc/fstab"
# debootstrap writes no /etc/hosts: without it every hostNetwork sandbox fails.
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$tmp/etc/hosts"
printf 'overlay\nbr_netfilter\n' >"$tmp/etc/modules-load.d/k8s.conf"
cat >"$tmp/etc/sysctl.d/90-k8s.conf" <<'X'
net.ipv4.ip_forward = 1
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
X
mkdir -p "$tmp/etc/containerd"
cat >"$tmp/etc/containerd/config.toml" <<'X'
version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      SystemdCgroup = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "/etc/cni/net.d"
X
# sshd: key-only root login; the test's key is put in by the disk build.
mkdir -p "$tmp/root/.ssh" && chmod 700 "$tmp/root/.ssh"
sed -i 's/^#\?PermitRootLogin.*/PermitRootLogin prohibit-password/' "$tmp/etc/ssh/sshd_config"
printf 'UseDNS no\n' >>"$tmp/etc/ssh/sshd_config"
# Host keys are made once here (a TCG guest takes long to make its own).
rm -f "$tmp"/etc/ssh/ssh_host_*; chroot "$tmp" ssh-keygen -A >&2
# crictl talks to containerd.
printf 'runtime-endpoint: unix:///run/containerd/containerd.sock\nimage-endpoint: unix:///run/containerd/containerd.sock\ntimeout: 30\n' >"$tmp/etc/crictl.yaml"
install -m 0755 "$here/guest-firstboot.sh" "$tmp/usr/local/sbin/pr-firstboot"
cat >"$tmp/etc/systemd/system/pr-firstboot.service" <<'X'
[Unit]
Description=plan-runner e2e: hostname, address and pod network from the kernel command line
DefaultDependencies=no
After=systemd-udevd.service local-fs.target
Before=network.target ssh.service containerd.service kubelet.service
Wants=network.target
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/pr-firstboot
[Install]
WantedBy=multi-user.target
X
chroot "$tmp" systemctl enable pr-firstboot.service >&2
chroot "$tmp" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >&2 || true
# Serial console login prompt is not needed; the console shows the boot log.
ls "$tmp"/boot/vmlinuz-* "$tmp"/boot/initrd.img-* >/dev/null || die "no kernel/initrd in $tmp/boot"
date -u +%FT%TZ >"$tmp/.ready"
rm -rf "$root"; mv "$tmp" "$root"
say "done in $(( $(date +%s) - start ))s: $root ($(du -sh "$root" | cut -f1))"
echo "$root"
