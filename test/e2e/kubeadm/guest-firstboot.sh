#!/bin/sh
# Runs in each kubeadm e2e guest at boot: takes pr.name, pr.ip (CIDR), pr.gw and pr.podcidr from
# the kernel command line and sets the hostname, the address on eth0 and the node's CNI bridge.
set -eu
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p" | tail -n1; }
name=$(arg pr.name); ip=$(arg pr.ip); gw=$(arg pr.gw); podcidr=$(arg pr.podcidr)
[ -n "$name" ] || exit 0
echo "$name" >/etc/hostname
hostname "$name"
grep -q " $name\$" /etc/hosts || echo "${ip%/*} $name" >>/etc/hosts
dev=$(ls /sys/class/net | grep -v '^lo$' | head -n1)
ip link set lo up
ip link set "$dev" up
ip addr replace "$ip" dev "$dev"
ip route replace default via "$gw" dev "$dev"
modprobe overlay || true
modprobe br_netfilter || true
sysctl -q --system >/dev/null || true
mkdir -p /etc/cni/net.d
cat >/etc/cni/net.d/10-pr-bridge.conflist <<X
{
  "cniVersion": "1.0.0",
  "name": "pr-pods",
  "plugins": [
    {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$podcidr"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
X
