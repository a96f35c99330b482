// What of a Node a Plan reads: its labels, annotations and spec, its conditions and the kubelet's
// report. The kubelet rewrites the status every few seconds only to renew each condition's
// lastHeartbeatTime; such a write changes nothing a pass would decide, and with thousands of
// nodes it would have every Plan looked at many times a second.
import type { Node } from "./objects.ts";
import { stableJson } from "./stable-json.ts";

function facts(n: Node): string {
  const conditions = (n.status?.conditions ?? []).map(({ lastHeartbeatTime: _beat, ...c }) => c);
  const { labels, annotations, deletionTimestamp } = n.metadata;
  return stableJson({ labels, annotations, deletionTimestamp, spec: n.spec, conditions, nodeInfo: n.status?.nodeInfo, addresses: n.status?.addresses });
}

/** Whether a change from `before` to `after` can matter to a Plan (false: a heartbeat only). */
export const changesFacts = (before: Node, after: Node): boolean => facts(before) !== facts(after);
