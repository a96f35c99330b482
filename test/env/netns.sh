#!/usr/bin/env bash
# Runs a command inside a network namespace of its own, so the test harness can give real
# kubelets a private node address: the namespace has only `lo` (up), every address the harness
# adds later lives on that `lo`, and nothing in it routes anywhere else. The machine's own
# namespace is never touched. Needs root (unshare). Already inside one: runs the command as is.
#
#   bash test/env/netns.sh node --import tsx --test test/integration/real-node-*.test.ts
#
# PLAN_RUNNER_NETNS carries the namespace's id (readlink /proc/self/ns/net) so the harness can
# check that it is in the namespace this script made, not in the machine's.
set -euo pipefail
if [[ -n "${PLAN_RUNNER_NETNS:-}" && "$(readlink /proc/self/ns/net)" == "$PLAN_RUNNER_NETNS" ]]; then
  exec "$@"
fi
[[ "$(id -u)" == 0 ]] || { echo "netns.sh: needs root (unshare --net)" >&2; exit 1; }
exec unshare --net --fork --kill-child -- bash -c '
  set -e
  ip link set lo up
  PLAN_RUNNER_NETNS=$(readlink /proc/self/ns/net)
  export PLAN_RUNNER_NETNS
  exec "$@"' netns "$@"
