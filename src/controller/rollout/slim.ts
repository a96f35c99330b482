// What the caches keep of a Node and of an upgrade pod: what a pass reads, nothing more. A real
// Node carries the list of every image on it (tens of KiB each), a pod its whole spec; at 5,000
// nodes that is most of the controller's memory, for fields no rule reads. The drain and the
// health gates list the pods they need from the API server, whole; these are only the caches'.
import type { Node, Pod } from "./objects.ts";

/** metadata (managedFields aside, see informer.ts), spec, and of status the conditions, the kubelet's report and the addresses. */
export function slimNode(n: Node): Node {
  const s = n.status;
  const status =
    s === undefined
      ? undefined
      : {
          ...(s.conditions !== undefined ? { conditions: s.conditions } : {}),
          ...(s.nodeInfo !== undefined ? { nodeInfo: s.nodeInfo } : {}),
          ...(s.addresses !== undefined ? { addresses: s.addresses } : {}),
        };
  return {
    ...(n.apiVersion !== undefined ? { apiVersion: n.apiVersion } : {}),
    ...(n.kind !== undefined ? { kind: n.kind } : {}),
    metadata: n.metadata,
    ...(n.spec !== undefined ? { spec: n.spec } : {}),
    ...(status !== undefined ? { status } : {}),
  };
}

/** An upgrade pod's metadata, its node and its status: what pod-facts.ts and the holds read. */
export function slimPod(p: Pod): Pod {
  const nodeName = p.spec?.nodeName;
  return {
    ...(p.apiVersion !== undefined ? { apiVersion: p.apiVersion } : {}),
    ...(p.kind !== undefined ? { kind: p.kind } : {}),
    metadata: p.metadata,
    ...(p.spec !== undefined ? { spec: nodeName !== undefined ? { nodeName } : {} } : {}),
    ...(p.status !== undefined ? { status: p.status } : {}),
  };
}
