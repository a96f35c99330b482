#!/usr/bin/env bash
# Packages kubeadm, kubelet, kubectl (and cri-tools) for one Kubernetes version as .debs with
# dpkg-deb, into a repository laid out like the upstream ones, one per minor:
#
#   ${PLAN_RUNNER_CACHE:-~/.cache/plan-runner}/repo/v<major.minor>/deb/{*.deb,Packages,Packages.gz,Release}
#
# A guest's source line is `deb [trusted=yes] http://HOST:PORT/v1.35/deb/ /`: the minor is a
# path segment, which is what the kubeadm-upgrade executor rewrites on a minor bump.
# Uncompressed (-Znone): decompressing 70 MB binaries inside a TCG guest costs minutes.
#   K8S_VERSION=v1.35.4 NODE_BIN=... EXTRAS_BIN=... bash test/e2e/kubeadm/build-debs.sh
set -euo pipefail
K8S_VERSION="${K8S_VERSION:?}"; NODE_BIN="${NODE_BIN:?}"; EXTRAS_BIN="${EXTRAS_BIN:?}"
CRICTL_VERSION="${CRICTL_VERSION:-v1.34.0}"
cache_root="${PLAN_RUNNER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/plan-runner}"
v="${K8S_VERSION#v}"; minor="${v%.*}"; rev="1.1"
repo="$cache_root/repo/v$minor/deb"
hash=$( (cat "$0"; sha256sum "$NODE_BIN"/kubeadm "$NODE_BIN"/kubelet "$NODE_BIN"/kubectl "$EXTRAS_BIN"/crictl) | sha256sum | cut -c1-12)
say() { printf '[debs %s] %s\n' "$K8S_VERSION" "$*" >&2; }
if [[ -f "$repo/.ready-$v-$hash" ]]; then say "cached: $repo"; echo "$repo"; exit 0; fi
mkdir -p "$repo"; rm -f "$repo"/.ready-*
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# mkdeb NAME VERSION DEPENDS DESCRIPTION: builds from $work/NAME (already filled) into the repo.
mkdeb() {
  local name=$1 version=$2 depends=$3 desc=$4 d="$work/$1"
  mkdir -p "$d/DEBIAN"
  {
    echo "Package: $name"; echo "Version: $version"; echo "Architecture: amd64"
    echo "Maintainer: plan-runner e2e <e2e@plan-runner.invalid>"; echo "Section: admin"; echo "Priority: optional"
    [[ -n "$depends" ]] && echo "Depends: $depends"
    echo "Installed-Size: $(du -sk --exclude=DEBIAN "$d" | cut -f1)"
    echo "Description: $desc"; echo " Built by plan-runner's kubeadm e2e test from the Go module proxy."
  } >"$d/DEBIAN/control"
  find "$d/etc" -type f 2>/dev/null | sed "s#^$d##" >"$d/DEBIAN/conffiles" || true
  [[ -s "$d/DEBIAN/conffiles" ]] || rm -f "$d/DEBIAN/conffiles"
  rm -f "$repo/${name}_"*.deb
  dpkg-deb --root-owner-group -Znone --build "$d" "$repo/${name}_${version}_amd64.deb" >&2
}

install -D -m 0755 "$NODE_BIN/kubectl" "$work/kubectl/usr/bin/kubectl"
mkdeb kubectl "$v-$rev" "" "Kubernetes command-line client"

install -D -m 0755 "$EXTRAS_BIN/crictl" "$work/cri-tools/usr/bin/crictl"
mkdeb cri-tools "${CRICTL_VERSION#v}-$rev" "" "CLI for CRI-compatible container runtimes"

install -D -m 0755 "$NODE_BIN/kubelet" "$work/kubelet/usr/bin/kubelet"
mkdir -p "$work/kubelet/lib/systemd/system"
cat >"$work/kubelet/lib/systemd/system/kubelet.service" <<'X'
[Unit]
Description=kubelet: the Kubernetes node agent
Wants=network-online.target
After=network-online.target containerd.service

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=5

[Install]
WantedBy=multi-user.target
X
mkdir -p "$work/kubelet/DEBIAN"
cat >"$work/kubelet/DEBIAN/postinst" <<'X'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
  systemctl enable kubelet.service >/dev/null 2>&1 || true
fi
X
chmod 0755 "$work/kubelet/DEBIAN/postinst"
mkdeb kubelet "$v-$rev" "iptables, iproute2, socat, mount, ethtool, conntrack" "Kubernetes node agent"

install -D -m 0755 "$NODE_BIN/kubeadm" "$work/kubeadm/usr/bin/kubeadm"
mkdir -p "$work/kubeadm/lib/systemd/system/kubelet.service.d"
cat >"$work/kubeadm/lib/systemd/system/kubelet.service.d/10-kubeadm.conf" <<'X'
# kubeadm's kubelet settings: the kubeconfigs and config file kubeadm writes, and its flags.
[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
EnvironmentFile=-/etc/default/kubelet
ExecStart=
ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
X
mkdeb kubeadm "$v-$rev" "cri-tools (>= 1.30.0)" "Kubernetes cluster bootstrapping tool"

cd "$repo"
dpkg-scanpackages --multiversion . /dev/null 2>/dev/null >Packages
gzip -9kf Packages
apt-ftparchive -o APT::FTPArchive::Release::Origin=plan-runner-e2e -o APT::FTPArchive::Release::Label="kubernetes v$minor" release . >Release
grep -q "^Package: kubeadm" Packages || { echo "no kubeadm in Packages" >&2; exit 1; }
touch "$repo/.ready-$v-$hash"
say "repository ready: $repo ($(ls *.deb | tr '\n' ' '))"
echo "$repo"
