#!/usr/bin/env bash
# npm run e2e:kubeadm — a kubeadm cluster of QEMU VMs (one control plane, one worker) installed
# at E2E_FROM from .debs this project packages, then taken one minor up to E2E_TO by
# plans/k8s-control-plane.yaml and plans/k8s-workers.yaml through the controller and the upgrade
# image. Not part of `npm test` (tens of minutes). See docs/kubeadm-e2e.md.
#
#   E2E_FROM=v1.35.4 E2E_TO=v1.36.3 npm run e2e:kubeadm
#   E2E_PHASES=build     stop after the cached builds (binaries, debs, images, disk)
#   E2E_PHASES=cluster   stop once the cluster is up at E2E_FROM (then everything is torn down)
#   E2E_PHASES=init      stop once both nodes are Ready at E2E_FROM
#   E2E_KEEP=1           keep the run directory (logs, consoles) even on success
#   E2E_HOLD=1           on failure, keep the cluster up until $run/hold is removed
#   E2E_NICE=N           the VMs' nice level and their autogroup's, wk1's at N+5 (default -10: the VMs win the machine)
#
# Network state exists only in a namespace this script creates (bridge 10.217.1.1/24, one tap
# per VM, the package repository's HTTP server); nothing is routed out. Everything started is
# stopped on exit, success or not.
set -euo pipefail
cd "$(dirname "$0")/.."
repo_root=$(pwd)
E2E_FROM="${E2E_FROM:-v1.35.4}"
E2E_TO="${E2E_TO:-v1.36.3}"
E2E_PHASES="${E2E_PHASES:-all}"
# Under TCG the guests need the machine: the passing runs had the VMs' autogroup at -10.
E2E_NICE="${E2E_NICE:--10}"
cache_root="${PLAN_RUNNER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/plan-runner}"
export PLAN_RUNNER_CACHE="$cache_root"
e2e="$repo_root/test/e2e/kubeadm"
run=$(mktemp -d /tmp/pr-kubeadm-e2e.XXXXXX)
netns="pr-kubeadm-$$"
BR_IP=10.217.1.1
CP_IP=10.217.1.10
WK_IP=10.217.1.11
REPO_PORT=8080
t0=$(date +%s)

say() { printf '[e2e-kubeadm %4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

# --- timings ---------------------------------------------------------------------------------
phase_name=""; phase_start=0
phase() {
  local now; now=$(date +%s)
  [[ -n "$phase_name" ]] && printf '%-40s %5ss\n' "$phase_name" "$(( now - phase_start ))" >>"$run/timings.txt"
  phase_name="$1"; phase_start=$now
  [[ -n "$1" ]] && say "=== $1"
  return 0
}

# --- cleanup ---------------------------------------------------------------------------------
pids=()
cleanup() {
  local rc=$?
  set +e
  phase ""
  if [[ $rc -ne 0 && -f "$run/admin.conf" ]]; then
    say "state at failure:"
    k get nodes -o wide >&2 2>&1
    k get plans -A -o wide >&2 2>&1
    k get pods -A -o wide >&2 2>&1 | tail -40
  fi
  if [[ $rc -ne 0 && -f "$run/cp1.qemu.pid" ]]; then
    for f in "$run"/*.qemu.pid; do kill -CONT "$(cat "$f")" 2>/dev/null; done
    # What the control plane's containers did, from inside cp1 (ssh may be slow under TCG).
    sshq "$CP_IP" 'crictl --runtime-endpoint unix:///run/containerd/containerd.sock ps -a; for c in etcd kube-apiserver; do echo "== $c"; crictl --runtime-endpoint unix:///run/containerd/containerd.sock logs --tail 40 "$(crictl --runtime-endpoint unix:///run/containerd/containerd.sock ps -a --name $c -q | head -n1)"; done' >"$run/cp1-containers.log" 2>&1
    say "cp1's containers and logs: $run/cp1-containers.log"
    # E2E_HOLD=1: keep the cluster up for a look (nsenter --net=/run/netns/$netns ...).
    if [[ -n "${E2E_HOLD:-}" ]]; then
      say "E2E_HOLD: the cluster stays up; kubeconfig $run/admin.conf, netns $netns; rm $run/hold to tear down"
      touch "$run/hold"
      while [[ -f "$run/hold" ]]; do sleep 5; done
    fi
  fi
  for f in "$run"/*.qemu.pid; do
    [[ -f "$f" ]] || continue
    local p; p=$(cat "$f"); kill "$p" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$p" 2>/dev/null
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  ip netns del "$netns" 2>/dev/null
  rm -f "$run"/*.qcow2
  if [[ -f "$run/timings.txt" ]]; then say "phase timings:"; cat "$run/timings.txt" >&2; fi
  if [[ $rc -eq 0 && -z "${E2E_KEEP:-}" ]]; then rm -rf "$run"; else say "logs kept in $run"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

inns() { nsenter --net="/run/netns/$netns" "$@"; }
SSH_KEY="$cache_root/e2e-kubeadm/ssh/id_ed25519"
sshq() { local ip=$1; shift; inns ssh -i "$SSH_KEY" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=30 -o ServerAliveInterval=30 -o BatchMode=yes "root@$ip" "$@"; }
# A bounded wait per request: a call caught by an API server restart fails and is asked again.
k() { inns "$KUBECTL" --kubeconfig "$run/admin.conf" --request-timeout=60s "$@"; }
wait_until() { # wait_until SECONDS WHAT CMD...
  local limit=$1 what=$2; shift 2
  local end=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    [[ $(date +%s) -lt $end ]] || die "timed out after ${limit}s waiting for $what"
    sleep 3
  done
}

# === 1-3: cached builds ======================================================================
phase "build: host packages"
bash scripts/setup-vm.sh
phase "build: node binaries $E2E_FROM"
bin_from=$(K8S_VERSION=$E2E_FROM bash "$e2e/build-node-binaries.sh" | tail -n1)
phase "build: node binaries $E2E_TO"
bin_to=$(K8S_VERSION=$E2E_TO bash "$e2e/build-node-binaries.sh" | tail -n1)
phase "build: etcd (control-plane cache)"
cp_bin=$(bash test/env/build-control-plane.sh | tail -n1)
phase "build: etcdctl, etcdutl, crictl, coredns"
# E2E_EXTRAS_BIN: a directory with etcdctl, etcdutl, crictl, coredns to use instead (debugging).
extras=${E2E_EXTRAS_BIN:-$(bash "$e2e/build-extras.sh" | tail -n1)}
KUBECTL="$bin_to/kubectl"
phase "build: control-plane images $E2E_FROM"
img_from=$(K8S_VERSION=$E2E_FROM NODE_BIN=$bin_from EXTRAS_BIN=$extras ETCD_BIN=$cp_bin bash "$e2e/build-images.sh" | tail -n1)
phase "build: control-plane images $E2E_TO"
img_to=$(K8S_VERSION=$E2E_TO NODE_BIN=$bin_to EXTRAS_BIN=$extras ETCD_BIN=$cp_bin bash "$e2e/build-images.sh" | tail -n1)
phase "build: plan-runner image"
upgrade_image=$(bash scripts/build-image.sh upgrade | tail -n1)
phase "build: debs $E2E_FROM and $E2E_TO"
repo_from=$(K8S_VERSION=$E2E_FROM NODE_BIN=$bin_from EXTRAS_BIN=$extras bash "$e2e/build-debs.sh" | tail -n1)
repo_to=$(K8S_VERSION=$E2E_TO NODE_BIN=$bin_to EXTRAS_BIN=$extras bash "$e2e/build-debs.sh" | tail -n1)
phase "build: guest root"
guest_root=$(bash "$e2e/build-guest-root.sh" | tail -n1)
phase "build: base disk"
mkdir -p "$(dirname "$SSH_KEY")"
[[ -f "$SSH_KEY" ]] || ssh-keygen -q -t ed25519 -N '' -C plan-runner-e2e -f "$SSH_KEY"
addon_tags="$cache_root/e2e-kubeadm/addon-tags"; mkdir -p "$addon_tags"
# The stand-in addon the compat gate reads (its version is its image tag): the pause image.
printf 'registry.k8s.io/pause:3.10 e2e.local/e2e-addon:v1.0.0\nregistry.k8s.io/pause:3.10 e2e.local/e2e-addon:v1.1.0\n' >"$addon_tags/tags.txt"
pause_tag=$(grep -o 'registry.k8s.io/pause:[^ ]*' "$img_from/kubeadm-images.txt" | head -n1)
disk=$(GUEST_ROOT=$guest_root SSH_PUB="$SSH_KEY.pub" PAUSE_TAG=$pause_tag bash "$e2e/build-disk.sh" "$img_from" "$img_to" "$upgrade_image" "$addon_tags" | tail -n1)
[[ "$E2E_PHASES" == build ]] && { phase ""; say "builds done"; exit 0; }

# === 4: the cluster at E2E_FROM ==============================================================
phase "boot: network namespace, repository, VMs"
ip netns add "$netns"
inns ip link set lo up
inns ip link add br0 type bridge
inns ip addr add "$BR_IP/24" dev br0
inns ip link set br0 up
# The repositories, one per minor, as the executor expects (/vX.Y/deb/).
# nsenter directly, not through the inns function: $! must be the server itself (nsenter execs
# it), not a subshell whose death would leave the server running.
nsenter --net="/run/netns/$netns" python3 -m http.server "$REPO_PORT" --bind "$BR_IP" --directory "$cache_root/repo" >"$run/http.log" 2>&1 &
pids+=($!)
kernel=$(ls "$guest_root"/boot/vmlinuz-* | sort -V | tail -n1)
initrd=$(ls "$guest_root"/boot/initrd.img-* | sort -V | tail -n1)
boot_vm() { # boot_vm NAME IP PODCIDR MEM MAC CPUS
  local name=$1 ip=$2 podcidr=$3 mem=$4 mac=$5 cpus=$6
  inns ip tuntap add "tap-$name" mode tap
  inns ip link set "tap-$name" master br0 up
  qemu-img create -q -f qcow2 -F raw -b "$disk" "$run/$name.qcow2"
  inns nice -n "$E2E_NICE" qemu-system-x86_64 -name "pr-e2e-$name" -accel tcg,thread=multi -cpu max -smp "$cpus" -m "$mem" \
    -kernel "$kernel" -initrd "$initrd" \
    -append "root=/dev/vda rw console=ttyS0 quiet pr.name=$name pr.ip=$ip/24 pr.gw=$BR_IP pr.podcidr=$podcidr" \
    -drive "file=$run/$name.qcow2,if=virtio,format=qcow2,cache=unsafe" \
    -netdev "tap,id=n0,ifname=tap-$name,script=no,downscript=no" -device "virtio-net-pci,netdev=n0,mac=$mac" \
    -display none -serial "file:$run/$name.console.log" -monitor none \
    -daemonize -pidfile "$run/$name.qemu.pid"
  # With the scheduler's autogroups (one per session) a nice level counts only inside QEMU's own
  # session: its group's weight is what competes with other sessions' work.
  local nice=$E2E_NICE
  # The worker's group gets a third of the control plane's weight (5 nice levels): cp1's API
  # server and etcd are what every step waits on, and under TCG they were starved (load 17-19 on
  # cp1, etcd reads of 12-43 s, the API server restarted) while wk1 started its pods.
  [[ -n "$nice" && $name != cp1 ]] && nice=$(( nice + 5 ))
  if [[ -n "$nice" && -w "/proc/$(cat "$run/$name.qemu.pid")/autogroup" ]]; then
    echo "$nice" >"/proc/$(cat "$run/$name.qemu.pid")/autogroup"
  fi
}
# The worker runs a kubelet and a few pods: one vCPU, so the control plane's two get the machine.
boot_vm cp1 "$CP_IP" 10.244.0.0/24 2560 52:54:00:e2:00:10 2
boot_vm wk1 "$WK_IP" 10.244.1.0/24 1792 52:54:00:e2:00:11 1
wait_until 300 "ssh on cp1" sshq "$CP_IP" true
wait_until 300 "ssh on wk1" sshq "$WK_IP" true
say "both VMs answer ssh"
# Pod networks of the other node, so pods reach each other (CoreDNS, services) across nodes.
sshq "$CP_IP" ip route replace 10.244.1.0/24 via "$WK_IP"
sshq "$WK_IP" ip route replace 10.244.0.0/24 via "$CP_IP"

phase "install: kubeadm, kubelet, kubectl $E2E_FROM (apt)"
from_minor=$(echo "${E2E_FROM#v}" | cut -d. -f1,2)
install_node() {
  local ip=$1 v=${E2E_FROM#v}
  sshq "$ip" "set -e
    echo 'deb [trusted=yes] http://$BR_IP:$REPO_PORT/v$from_minor/deb/ /' >/etc/apt/sources.list.d/kubernetes.list
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q kubeadm=$v-1.1 kubelet=$v-1.1 kubectl=$v-1.1 >/dev/null
    apt-mark hold kubeadm kubelet kubectl >/dev/null
    kubeadm version -o short"
}
install_node "$CP_IP" &
ip1=$!
install_node "$WK_IP" || die "install on wk1"
wait "$ip1" || die "install on cp1"

phase "kubeadm init (cp1)"
cat >"$run/kubeadm-init.yaml" <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint: {advertiseAddress: $CP_IP, bindPort: 6443}
patches: {directory: /etc/kubernetes/patches}
nodeRegistration:
  name: cp1
  criSocket: unix:///run/containerd/containerd.sock
  imagePullPolicy: Never
# A TCG guest on a shared 2-core machine starts the API server in minutes, not seconds.
timeouts:
  controlPlaneComponentHealthCheck: 40m0s
  kubeletHealthCheck: 10m0s
  kubernetesAPICall: 20m0s
  etcdAPICall: 10m0s
  tlsBootstrap: 15m0s
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: $E2E_FROM
controlPlaneEndpoint: $CP_IP:6443
networking: {podSubnet: 10.244.0.0/16, serviceSubnet: 10.96.0.0/12}
# ECDSA keys and certificates: every TLS handshake and token signature costs a fraction of
# RSA's, which under TCG is minutes of the API server's start.
encryptionAlgorithm: ECDSA-P256
# One control plane: leader election has nothing to decide, and under TCG the lease renewals time
# out, restarting the controller manager and the scheduler again and again.
controllerManager: {extraArgs: [{name: leader-elect, value: "false"}]}
scheduler: {extraArgs: [{name: leader-elect, value: "false"}]}
# The disk is a throwaway overlay (cache=unsafe): etcd's fsyncs buy nothing and cost the guest's
# one slow disk path on every write. kubeadm keeps extraArgs across the upgrade.
etcd: {local: {extraArgs: [{name: unsafe-no-fsync, value: "true"}]}}
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
# Images are preloaded and nothing can be pulled: never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 50Mi, nodefs.available: 2%, imagefs.available: 2%}
EOF
# kubeadm's static pods get a startup probe of 24 x 10 s: a TCG guest on a loaded machine took
# longer than that to start kube-apiserver, which the kubelet then killed and restarted forever.
mkdir -p "$run/patches"
for c in etcd kube-apiserver kube-controller-manager kube-scheduler; do
  printf 'spec:\n  containers:\n  - name: %s\n    startupProbe:\n      failureThreshold: 180\n    livenessProbe:\n      failureThreshold: 30\n' "$c" >"$run/patches/$c+strategic.yaml"
done
# kube-apiserver's readiness probe runs every second (a TLS handshake and /readyz each time);
# every 10 s is plenty for a test with one API server.
printf '    readinessProbe:\n      periodSeconds: 10\n' >>"$run/patches/kube-apiserver+strategic.yaml"
inns scp -q -r -i "$SSH_KEY" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "$run/kubeadm-init.yaml" "$run/patches" "root@$CP_IP:/root/"
# Under TCG the API server's first start is CPU-bound for many minutes: the idle worker VM is
# stopped meanwhile (SIGSTOP to QEMU) and continued for the join.
kill -STOP "$(cat "$run/wk1.qemu.pid")"
sshq "$CP_IP" "mkdir -p /etc/kubernetes && mv /root/patches /etc/kubernetes/patches && kubeadm init --config /root/kubeadm-init.yaml --ignore-preflight-errors=SystemVerification" >"$run/kubeadm-init.log" 2>&1 \
  || { tail -30 "$run/kubeadm-init.log" >&2; die "kubeadm init"; }
sshq "$CP_IP" cat /etc/kubernetes/admin.conf >"$run/admin.conf"
k get nodes >&2

phase "kubeadm join (wk1)"
kill -CONT "$(cat "$run/wk1.qemu.pid")"
wait_until 300 "ssh on wk1 after its pause" sshq "$WK_IP" true
join=$(sshq "$CP_IP" kubeadm token create --print-join-command)
sshq "$WK_IP" "$join --ignore-preflight-errors=SystemVerification" >"$run/kubeadm-join.log" 2>&1 \
  || { tail -30 "$run/kubeadm-join.log" >&2; die "kubeadm join"; }
nodes_ready() { [[ $(k get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True) -eq 2 ]]; }
wait_until 600 "both nodes Ready" nodes_ready
# One CoreDNS, not kubeadm's two, both of which land on cp1 (the only node when they schedule).
k -n kube-system scale deploy coredns --replicas=1 >&2
[[ "$E2E_PHASES" == init ]] && { k get nodes -o wide >&2; k get pods -A -o wide >&2; phase ""; say "both nodes Ready at $E2E_FROM"; exit 0; }
system_running() { local out; out=$(k get pods -n kube-system --no-headers) && [[ -n "$out" ]] && ! grep -qv ' Running ' <<<"$out"; }
wait_until 600 "kube-system pods Running" system_running
k get nodes -o wide >&2
k get pods -A -o wide >&2
node_versions() { k get nodes -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.nodeInfo.kubeletVersion}{"\n"}{end}'; }
node_versions >"$run/versions-before.txt"
k version >&2
[[ "$E2E_PHASES" == cluster ]] && { phase ""; say "cluster up at $E2E_FROM"; exit 0; }

# === 5: plan-runner ==========================================================================
. "$e2e/rollout.sh"
