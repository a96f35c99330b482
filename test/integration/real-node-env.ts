// What the real-node tests share: a control plane with one or more real nodes (containerd + the
// kubelet, running the locally built upgrade image), Plans that run that image, a throwaway
// Debian root on the machine for the executors to act on, and a watch that keeps the order in
// which the API server saw things happen.
import type { Pod } from "../../src/controller/rollout/objects.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import type { PlanObject } from "../../src/controller/wiring/reconciler.ts";
import type { Plan } from "../../src/generated/plan.ts";
import { UPGRADE_IMAGE } from "../env/images.ts";
import type { RealNodeHandle } from "../env/real-node.ts";
import { waitFor } from "../env/wait.ts";
import { type Env } from "./controller-env.ts";

export { UPGRADE_IMAGE };

/** The container the host commands run in: root in the pod (the image's user is `node`), privileged. */
export const HOST_SECURITY = { privileged: true, runAsUser: 0 };

/**
 * The cluster's Service VIP (10.96.0.1) has no kube-proxy behind it here, so pods that talk to
 * the API server (the compat gate, the controller) are given its address directly; the
 * kubelet lets a container's own env override the service variables.
 */
export function apiServerEnv(env: Env): { name: string; value: string }[] {
  const url = new URL(env.cp.server);
  return [
    { name: "KUBERNETES_SERVICE_HOST", value: url.hostname },
    { name: "KUBERNETES_SERVICE_PORT", value: url.port },
  ];
}

export function aRealPlan(namespace: string, name: string, node: string, spec: Partial<Plan["spec"]>): PlanObject {
  return {
    apiVersion: "upgrade.cattle.io/v1",
    kind: "Plan",
    metadata: { name, namespace },
    spec: {
      concurrency: 1,
      version: "v1.0.0",
      nodeSelector: { matchLabels: { "kubernetes.io/hostname": node } },
      upgrade: { image: UPGRADE_IMAGE },
      ...spec,
    },
  };
}

/** One line per thing the API server reported, in the order it reported them. */
export class EventLog {
  readonly lines: string[] = [];
  private readonly abort = new AbortController();
  private readonly done: Promise<void>;

  constructor(env: Env, namespace: string) {
    this.done = env.kube
      .watch<Pod>(
        resources.pods,
        namespace,
        { allowWatchBookmarks: false },
        (e) => {
          if (e.type === "ERROR" || e.type === "BOOKMARK") return;
          this.lines.push(`${e.type} ${e.object.metadata.name} ${e.object.status?.phase ?? ""}`);
        },
        this.abort.signal,
      )
      .catch(() => {});
  }

  index(re: RegExp): number {
    return this.lines.findIndex((l) => re.test(l));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

export const podsOfPlan = async (env: Env, namespace: string, plan: string, role?: "apply" | "prepare"): Promise<Pod[]> =>
  (await env.kube.list<Pod>(resources.pods, namespace)).items
    .filter((p) => p.metadata.labels?.["upgrade.cattle.io/plan"] === plan && (role === undefined || p.metadata.labels?.["plan-runner.dev/role"] === role))
    .sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") || a.metadata.name.localeCompare(b.metadata.name));

/** What `kubectl logs` prints for a pod: the real container's output, read through the real kubelet. */
export async function kubectlLogs(env: Env, namespace: string, pod: string): Promise<string> {
  const r = await env.cp.kubectl(["logs", "-n", namespace, pod]);
  if (r.code !== 0) throw new Error(`kubectl logs ${namespace}/${pod} failed: ${r.stderr}`);
  return r.stdout;
}

/** Kills a pod's container with SIGKILL through the node's containerd, as a reboot would end it. */
export async function killContainer(node: RealNodeHandle, pod: Pod): Promise<void> {
  const status = pod.status?.containerStatuses?.[0] as { containerID?: string } | undefined;
  const id = status?.containerID?.replace(/^containerd:\/\//, "");
  if (id === undefined || id === "") throw new Error(`pod ${pod.metadata.name} has no container yet`);
  await node.ctr(["tasks", "kill", "--signal", "SIGKILL", id]);
}

export async function waitForPod(env: Env, namespace: string, what: string, ok: (p: Pod) => boolean, timeoutMs = 120_000): Promise<Pod> {
  return waitFor(async () => (await env.kube.list<Pod>(resources.pods, namespace)).items.find(ok), { timeoutMs, what });
}
