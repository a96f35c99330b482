import { randomUUID } from "node:crypto";
import type { V1Node, V1Taint } from "@kubernetes/client-node";

export type NodeRole = "control-plane" | "worker";

export interface SimulatedNodeSpec {
  name: string;
  role: NodeRole;
  /** Extra labels, merged over the defaults (a value of "" is kept; use it for role-style labels). */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Replaces the default taints (a control-plane node gets kubeadm's NoSchedule taint). */
  taints?: V1Taint[];
  /** What the node's kubelet reports; the controller reads it to see whether a node is upgraded. */
  kubeletVersion?: string;
  osImage?: string;
  arch?: string;
}

/** kwok plays the kubelet of exactly the nodes annotated with this (value "fake"). */
export const SIMULATED_NODE_ANNOTATION = "kwok.x-k8s.io/node";

export const roleLabel = (role: NodeRole): string => `node-role.kubernetes.io/${role}`;

/** 127.1.x.y: unique per node, and on Linux every 127/8 address reaches the kwok kubelet server. */
export function simulatedNodeIP(ordinal: number): string {
  const n = ordinal - 1;
  return `127.1.${Math.floor(n / 250)}.${(n % 250) + 2}`;
}

/** One /24 per node out of 10.244.0.0/14 (kubeadm's usual pod network), 1024 nodes before wrapping. */
export function simulatedPodCIDR(ordinal: number): string {
  const n = ordinal % 1024;
  return `10.${244 + Math.floor(n / 256)}.${n % 256}.0/24`;
}

/**
 * A Node object as a kubeadm-installed kubelet registers it: well-known labels, the role label,
 * the control-plane taint, an InternalIP and Hostname address, capacity and nodeInfo. Status is
 * accepted on create (kubelets register that way), so the node is complete before kwok sees it.
 */
export function simulatedNode(spec: SimulatedNodeSpec, ordinal: number, defaults: { kubeletVersion: string }): V1Node {
  const arch = spec.arch ?? "amd64";
  const cidr = simulatedPodCIDR(ordinal);
  const taints = spec.taints ?? (spec.role === "control-plane" ? [{ key: roleLabel("control-plane"), effect: "NoSchedule" }] : []);
  const resources = { cpu: "4", memory: "16Gi", pods: "110", "ephemeral-storage": "100Gi" };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: spec.name,
      labels: {
        "kubernetes.io/hostname": spec.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": arch,
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": arch,
        [roleLabel(spec.role)]: "",
        ...(spec.role === "control-plane" ? { "node.kubernetes.io/exclude-from-external-load-balancers": "" } : {}),
        ...spec.labels,
      },
      annotations: {
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        [SIMULATED_NODE_ANNOTATION]: "fake",
        ...spec.annotations,
      },
    },
    spec: { podCIDR: cidr, podCIDRs: [cidr], ...(taints.length > 0 ? { taints } : {}) },
    status: {
      addresses: [
        { type: "InternalIP", address: simulatedNodeIP(ordinal) },
        { type: "Hostname", address: spec.name },
      ],
      capacity: resources,
      allocatable: resources,
      nodeInfo: {
        architecture: arch,
        operatingSystem: "linux",
        osImage: spec.osImage ?? "Debian GNU/Linux 12 (bookworm)",
        kernelVersion: "6.1.0-28-cloud-amd64",
        containerRuntimeVersion: "containerd://1.7.24",
        kubeletVersion: spec.kubeletVersion ?? defaults.kubeletVersion,
        kubeProxyVersion: "",
        machineID: randomUUID().replaceAll("-", ""),
        systemUUID: randomUUID(),
        bootID: randomUUID(),
      },
    },
  };
}

/** "control-plane-1", "worker-1".. : the names the cluster:up nodes and tests use. */
export function defaultNodeSpecs(controlPlanes: number, workers: number): SimulatedNodeSpec[] {
  return [
    ...Array.from({ length: controlPlanes }, (_, i): SimulatedNodeSpec => ({ name: `control-plane-${i + 1}`, role: "control-plane" })),
    ...Array.from({ length: workers }, (_, i): SimulatedNodeSpec => ({ name: `worker-${i + 1}`, role: "worker" })),
  ];
}
