# Sourced by scripts/e2e-kubeadm.sh once the cluster is up at E2E_FROM: phases 5-7.
# Deploys plan-runner (deploy/ through overlay/), applies the two Plans as shipped with
# spec.version set to E2E_TO, walks the compat gate Held -> Blocked -> clear, kills the leading
# controller once mid-rollout and checks every promise of issue 13 on the way.

NSU=system-upgrade
plan_state() { k get plan -n "$NSU" "$1" -o jsonpath='{.status.state}' 2>/dev/null; }
plan_is() { [[ "$(plan_state "$1")" == "$2" ]]; }
plan_summary() { k get plan -n "$NSU" "$1" -o jsonpath='{.status.state} {.status.progress} {.status.message}' 2>/dev/null; }

phase "deploy: plan-runner, fixtures, compat matrix"
# One-shot kubectl calls while the API server may be restarting: retried.
kr() { local i; for i in $(seq 40); do k "$@" && return 0; sleep 3; done; return 1; }
# Anything in /etc/kubernetes/manifests changed after this was changed by the upgrade.
pre_upgrade=$(sshq "$CP_IP" date +%s)
k label node cp1 wk1 plan-runner.io/kubeadm-upgrade=enabled --overwrite >&2
inns "$KUBECTL" kustomize "$e2e/overlay" >"$run/deploy.yaml"
k apply --server-side -f "$run/deploy.yaml" >&2
k apply -f "$e2e/fixtures.yaml" >&2
set_matrix() {
  k -n "$NSU" create secret generic compat-matrix --from-file=matrix.json="$e2e/matrix/$1.json" --dry-run=client -o yaml | k apply -f - >&2
}
set_matrix held
controller_ready() { [[ $(k -n "$NSU" get deploy plan-runner -o jsonpath='{.status.readyReplicas}') == 2 ]]; }
wait_until 600 "both controller replicas Ready" controller_ready
fixtures_ready() {
  [[ $(k -n monitoring get deploy prometheus-server -o jsonpath='{.status.readyReplicas}') == 1 ]] &&
  [[ $(k -n e2e-addon get deploy e2e-addon -o jsonpath='{.status.readyReplicas}') == 1 ]] &&
  [[ $(k -n default get deploy e2e-workload -o jsonpath='{.status.readyReplicas}') == 2 ]]
}
wait_until 600 "fixtures Ready" fixtures_ready
k get pods -A -o wide >&2
# The workloads on wk1 before any Plan ran (pods of ReplicaSets, plan-runner's own aside): the
# workers' drain must evict every one of them, so none of these names exists at the end.
ns_names() { kr get pods -A "$@" -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {.metadata.ownerReferences[0].kind}{"\n"}{end}'; }
ns_names --field-selector spec.nodeName=wk1 | awk '$1 !~ /^system-upgrade\// && $2 == "ReplicaSet" {print $1}' | sort -u >"$run/wk1-pods-before.txt"
[[ -s "$run/wk1-pods-before.txt" ]] || die "no workload pod on wk1 before the rollout: its drain would prove nothing"

# A sampler: every 5 s the Plans' state and each node's version and cordon, for the checks below.
(
  # Not under the script's set -e: a kubectl call fails while the API server restarts, and the
  # sampler must go on (it stopped at the first such failure in the first full run).
  set +e
  while :; do
    printf '%s cp=%s workers=%s' "$(date +%s)" "$(plan_state k8s-control-plane)" "$(plan_state k8s-workers)"
    k get nodes -o jsonpath='{range .items[*]}{" "}{.metadata.name}={.status.nodeInfo.kubeletVersion},unsched={.spec.unschedulable}{end}' 2>/dev/null
    echo
    sleep 5
  done
) >"$run/watch.log" 2>/dev/null &
pids+=($!)

phase "plans: apply with version $E2E_TO"
# The Plans as shipped, pinned (the GitOps form their comments describe: `channel:` removed,
# `version:` set); the preflight's quiet period shortened from 24h (these nodes were made minutes
# ago; E2E_QUIET), the workers' health soak from 10m (E2E_WORKER_SOAK; with one worker it is
# only waiting), and the control plane's kubeadm-upgrade given an UpgradeConfiguration: cp1 was
# made with kubeadm patches (longer probes) that the upgrade must keep, and kubeadm's 5-minute
# wait per upgraded static pod is too short for an API server that starts in minutes under TCG
# (and with it the pods' deadline, raised to the controller's cap).
E2E_WORKER_SOAK="${E2E_WORKER_SOAK:-2m}"
E2E_QUIET="${E2E_QUIET:-1m}"
# kubeadm's CreateJob health check gives its Job's pod a fixed 60s, which the one-vCPU TCG worker
# could not meet (the first run failed there): ignored, as kubeadm's error suggests.
printf '%s\n' 'apiVersion: kubeadm.k8s.io/v1beta4' 'kind: UpgradeConfiguration' \
  'plan:' '  ignorePreflightErrors: [CreateJob]' \
  'apply:' '  imagePullPolicy: Never' '  ignorePreflightErrors: [CreateJob]' '  patches: {directory: /etc/kubernetes/patches}' \
  'node:' '  imagePullPolicy: Never' '  patches: {directory: /etc/kubernetes/patches}' \
  'timeouts:' '  controlPlaneComponentHealthCheck: 30m0s' '  upgradeManifests: 40m0s' \
  '  kubernetesAPICall: 20m0s' '  etcdAPICall: 10m0s' >"$run/plan-runner-upgrade.yaml"
inns scp -q -i "$SSH_KEY" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "$run/plan-runner-upgrade.yaml" "root@$CP_IP:/etc/kubernetes/plan-runner-upgrade.yaml"
for p in k8s-control-plane k8s-workers; do
  sed -E -e '/^  channel: /d' -e "s/^  # version: v[0-9.]+$/  version: $E2E_TO/" \
    -e "s/^      soak: 10m$/      soak: $E2E_WORKER_SOAK/" -e "s/^      quietPeriod: 24h$/      quietPeriod: $E2E_QUIET/" \
    -e 's#(kubeadm-upgrade --role control-plane --release "\$SYSTEM_UPGRADE_PLAN_LATEST_VERSION")$#\1 --config /etc/kubernetes/plan-runner-upgrade.yaml --kubeadm-timeout 6000 --verify-timeout 1800#' \
    -e 's/^  jobActiveDeadlineSecs: 3600$/  jobActiveDeadlineSecs: 7200/' \
    "plans/$p.yaml" >"$run/$p.yaml"
  grep -q "^  version: $E2E_TO\$" "$run/$p.yaml" || die "could not set spec.version in plans/$p.yaml"
  ! grep -q "^  channel: " "$run/$p.yaml" || die "could not remove spec.channel from plans/$p.yaml"
  grep -q "quietPeriod: $E2E_QUIET\$" "$run/$p.yaml" || die "could not shorten the quiet period in plans/$p.yaml"
  diff -u "plans/$p.yaml" "$run/$p.yaml" >&2 || true
  k apply -f "$run/$p.yaml" >&2
done
grep -q -- '--config /etc/kubernetes/plan-runner-upgrade.yaml' "$run/k8s-control-plane.yaml" || die "could not give kubeadm-upgrade its --config"

phase "gate: held (exit 4)"
wait_until 900 "k8s-control-plane Held" plan_is k8s-control-plane Held
say "k8s-control-plane: $(plan_summary k8s-control-plane)"
# The gate's pods and their exit codes, as the Plan's status reported them.
gate_pods() { k -n "$NSU" get pods -l upgrade.cattle.io/plan=k8s-control-plane,plan-runner.dev/role=prepare -o jsonpath='{range .items[*]}{.metadata.name} exit={.status.containerStatuses[0].state.terminated.exitCode}{"\n"}{end}'; }
gate_pods >&2
k -n "$NSU" get plan k8s-control-plane -o jsonpath='{range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{"\n"}{end}' >&2
echo "held: $(plan_summary k8s-control-plane)" >>"$run/gate.txt"

phase "gate: blocked (exit 2)"
set_matrix blocked
wait_until 900 "k8s-control-plane Blocked" plan_is k8s-control-plane Blocked
say "k8s-control-plane: $(plan_summary k8s-control-plane)"
gate_pods >&2
echo "blocked: $(plan_summary k8s-control-plane)" >>"$run/gate.txt"

phase "gate: clear (addon upgraded) -> control plane upgrade"
k -n e2e-addon set image deploy/e2e-addon addon=e2e.local/e2e-addon:v1.1.0 >&2
gate_cleared() { local s; s=$(plan_state k8s-control-plane); [[ "$s" == Applying || "$s" == Complete ]]; }
wait_until 900 "k8s-control-plane past the gate" gate_cleared
echo "clear: $(plan_summary k8s-control-plane)" >>"$run/gate.txt"

# Kill the leading controller once, while the control plane's upgrade pod runs.
upgrade_pod_running() {
  k -n "$NSU" get pods -l upgrade.cattle.io/plan=k8s-control-plane,plan-runner.dev/role=apply -o jsonpath='{range .items[*]}{.status.phase}{" "}{.status.containerStatuses[*].state.running.startedAt}{"\n"}{end}' | grep -q '^Running [0-9]'
}
wait_until 900 "the control plane's upgrade container running" upgrade_pod_running
leader=$(kr -n "$NSU" get lease plan-runner-leader -o jsonpath='{.spec.holderIdentity}')
leader_pod=${leader%%_*}
say "killing the leading controller $leader_pod mid-rollout"
kr -n "$NSU" delete pod "$leader_pod" --grace-period=0 --force >&2 2>&1 || die "could not delete $leader_pod"
echo "$(date +%s) killed controller $leader_pod (leader) while the k8s-control-plane upgrade pod ran" >>"$run/gate.txt"

# Under TCG: snapshot, apt of 220 MB at 0.3-1 MB/s, kubeadm upgrade apply, the kubelet, and
# maybe a retry (the run of 2026-12-03 needed one after 45 min: the verify step gave up on an API
# server that was restarting). The Plan's pods may run 2 h each.
wait_until 5400 "k8s-control-plane Complete" plan_is k8s-control-plane Complete
cp_complete_at=$(date +%s)
say "k8s-control-plane: $(plan_summary k8s-control-plane)"
k -n "$NSU" logs -l upgrade.cattle.io/plan=k8s-control-plane,plan-runner.dev/role=apply --tail=-1 >"$run/cp-upgrade.log" 2>&1 || true

phase "check: etcd snapshot before the control plane was touched"
# The first snapshot this rollout took: a retried upgrade pod takes another before it resumes
# (the run of 2026-12-03 retried after the static pods were rewritten), and that later one is not
# what protected the first touch.
first_snap=$(sshq "$CP_IP" "stat -c '%Y %n' /var/lib/plan-runner/etcd-snapshots/*.db | awk '\$1 > $pre_upgrade' | sort -n | head -n1")
[[ -n "$first_snap" ]] || die "no etcd snapshot on cp1 taken since the Plans were applied"
snap_t=${first_snap%% *}
snap=${first_snap#* }
say "etcd snapshots on cp1: $(sshq "$CP_IP" 'ls -1 /var/lib/plan-runner/etcd-snapshots/' | tr '\n' ' ')"
snap_bytes=$(sshq "$CP_IP" stat -c %s "$snap")
inns scp -q -i "$SSH_KEY" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "$extras/etcdutl" "root@$CP_IP:/usr/local/bin/etcdutl"
sshq "$CP_IP" etcdutl snapshot status "$snap" -w table >"$run/snapshot-status.txt" 2>&1 || { cat "$run/snapshot-status.txt" >&2; die "etcdutl snapshot status $snap failed"; }
# kubeadm upgrade apply backs up etcd's data and the old manifests (kubeadm-backup-* under
# /etc/kubernetes/tmp) before it rewrites them: the oldest of those and of the manifests since the
# Plans were applied is the first touch of the control plane, however often the pod was retried.
first_touch=$(sshq "$CP_IP" "stat -c %Y /etc/kubernetes/manifests/*.yaml /etc/kubernetes/tmp/kubeadm-backup-* 2>/dev/null | awk '\$1 > $pre_upgrade' | sort -n | head -n1")
[[ -n "$first_touch" ]] || die "no static pod manifest on cp1 was rewritten by the upgrade"
[[ "$snap_t" -lt "$first_touch" ]] || die "snapshot $snap ($snap_t) is not older than the first manifest rewrite ($first_touch)"
snap_line=$(grep -n 'etcd snapshot .*bytes' "$run/cp-upgrade.log" | head -n1 | cut -d: -f1)
apply_line=$(grep -n 'upgrade-apply\|upgrade apply' "$run/cp-upgrade.log" | head -n1 | cut -d: -f1)
say "upgrade log: snapshot at line ${snap_line:-?}, kubeadm upgrade apply from line ${apply_line:-?}"
say "etcd snapshot $snap: $snap_bytes bytes, taken $(( first_touch - snap_t ))s before the first manifest rewrite; etcdutl:"
cat "$run/snapshot-status.txt" >&2

phase "workers: k8s-workers after the control plane"
wait_until 3600 "k8s-workers Complete" plan_is k8s-workers Complete
say "k8s-workers: $(plan_summary k8s-workers)"
k -n "$NSU" logs -l upgrade.cattle.io/plan=k8s-workers,plan-runner.dev/role=apply --tail=-1 >"$run/wk-upgrade.log" 2>&1 || true

phase "check: final state"
# Workers only after the control plane Plan was Complete, and drained (cordoned) meanwhile.
first_wk_applying=$(awk '/workers=Applying/ {print $1; exit}' "$run/watch.log")
first_cp_complete=$(awk '/cp=Complete/ {print $1; exit}' "$run/watch.log")
[[ -n "$first_wk_applying" && -n "$first_cp_complete" ]] || die "the sampler saw no Applying worker Plan or no Complete control-plane Plan"
[[ "$first_wk_applying" -ge "$first_cp_complete" ]] || die "k8s-workers was Applying ($first_wk_applying) before k8s-control-plane was Complete ($first_cp_complete)"
grep -q 'wk1=[^ ]*,unsched=true' "$run/watch.log" || die "wk1 was never seen cordoned"
# Drained and uncordoned, as the Plan's own Events tell it (one object per Plan and reason).
for reason in drained uncordoned; do
  told=$(k -n "$NSU" get event "k8s-workers.$reason" -o jsonpath='{.message}' 2>/dev/null || true)
  [[ "$told" == *wk1* ]] || die "no $reason Event of k8s-workers names wk1 (got: ${told:-none})"
  say "k8s-workers.$reason: $told"
done
all_pods=$(ns_names) || die "could not list the pods after the rollout"
not_evicted=$(comm -12 "$run/wk1-pods-before.txt" <(awk '{print $1}' <<<"$all_pods" | sort -u))
[[ -z "$not_evicted" ]] || die "pods on wk1 before the rollout were not evicted by its drain: $not_evicted"
kr version >&2
node_versions >"$run/versions-after.txt"
bad=$(k get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.status.nodeInfo.kubeletVersion} {.status.conditions[?(@.type=="Ready")].status} {.spec.unschedulable}{"\n"}{end}' | awk -v v="$E2E_TO" '$2 != v || $3 != "True" || $4 == "true"')
[[ -z "$bad" ]] || die "nodes not at $E2E_TO, not Ready or cordoned: $bad"
server=$(k version -o json | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -n1)
[[ "$server" == "$E2E_TO" ]] || die "the API server reports $server, not $E2E_TO"
phase ""
say "gate: $(tr '\n' ';' <"$run/gate.txt")"
say "evicted from wk1 by its drain: $(tr '\n' ' ' <"$run/wk1-pods-before.txt"); timings:"
cat "$run/timings.txt" >&2
echo "node versions before -> after:"
join <(sort "$run/versions-before.txt") <(sort "$run/versions-after.txt") | awk '{printf "  %s %s -> %s\n", $1, $2, $3}'
