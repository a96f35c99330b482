import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { SIMULATED_NODE_ANNOTATION } from "./nodes.ts";

export const stagesDir = fileURLToPath(new URL("./stages/", import.meta.url));
export const logsCrdPath = fileURLToPath(new URL("./kwok-logs-crd.yaml", import.meta.url));

export interface KwokConfigInput {
  /** Port of kwok's kubelet API; written into each Node's daemonEndpoints by the node-ready stage. */
  kubeletPort: number;
  /** CRI-format log file served for every container that has no Logs object of its own. */
  defaultLogsFile: string;
  /** The node leases' duration (control-plane.ts, nodeLeaseSeconds). Default 40. */
  nodeLeaseSeconds?: number;
}

/**
 * One multi-document kwok config: the options, a ClusterLogs fallback and every Stage in
 * ./stages/. The kwok binary has no built-in stages, so these files are the whole kubelet model.
 */
export function kwokConfig(input: KwokConfigInput): string {
  const options = {
    apiVersion: "config.kwok.x-k8s.io/v1alpha1",
    kind: "KwokConfiguration",
    metadata: {},
    options: {
      // Only the simulated nodes: a real node beside them has its own kubelet (see nodes.ts).
      manageNodesWithAnnotationSelector: `${SIMULATED_NODE_ANNOTATION}=fake`,
      // All nodes share one kwok server; each node's InternalIP is a 127/8 address, hence 0.0.0.0.
      serverAddress: `0.0.0.0:${input.kubeletPort}`,
      nodePort: input.kubeletPort,
      cidr: "10.252.0.0/16",
      // The kubelet's default lease: the node lifecycle controller sees a live node through it.
      nodeLeaseDurationSeconds: input.nodeLeaseSeconds ?? 40,
      enableCRDs: ["Logs"],
      // Logs (and exec, port-forward) are "debugging handlers"; pprof stays off on 0.0.0.0.
      enableDebuggingHandlers: true,
      enableProfilingHandler: false,
      enableContentionProfiling: false,
      // Set explicitly: with a config file kwok v0.8.0 leaves some defaults unset (nodeLeaseParallelism
      // 0 refuses to start; debugging handlers end up off).
      podPlayStageParallelism: 8,
      nodePlayStageParallelism: 8,
      nodeLeaseParallelism: 8,
      podsOnNodeSyncParallelism: 4,
    },
  };
  const clusterLogs = {
    apiVersion: "kwok.x-k8s.io/v1alpha1",
    kind: "ClusterLogs",
    metadata: { name: "plan-runner-default" },
    spec: { logs: [{ logsFile: input.defaultLogsFile }] },
  };
  const stages = readdirSync(stagesDir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => readFileSync(`${stagesDir}${f}`, "utf8").trim());
  return [stringify(options).trim(), stringify(clusterLogs).trim(), ...stages].join("\n---\n") + "\n";
}

/** Lines in the CRI log format the kubelet's log reader (and so kwok's) expects. */
export function criLogLines(lines: readonly string[], at: Date = new Date()): string {
  return lines.map((l) => `${at.toISOString()} stdout F ${l}\n`).join("");
}
