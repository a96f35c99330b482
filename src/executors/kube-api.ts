// The executors' read-only window on the Kubernetes API, through the controller's own client
// (src/controller/kube): one kubeconfig reader, one HTTPS client, one set of rules for proxies,
// TLS names, throttling and rate limits, whether it runs in the controller or in a node's pod.
import { KubeAdapter } from "../controller/kube/adapter.ts";
import { type Credentials, SERVICE_ACCOUNT_DIR, inClusterCredentials, loadCredentials } from "../controller/kube/credentials.ts";
import { type Kube, KubeError, type Resource, resources } from "../controller/kube/ports.ts";
import type { KubeObject, List } from "../controller/rollout/objects.ts";
import type { ClusterReader, NodeFacts } from "./compat-gate.ts";
import type { WorkloadRef } from "./compat-matrix.ts";

export { SERVICE_ACCOUNT_DIR };

/** The credentials, and the parts of them a test or a message may want to see. */
export interface KubeApiConfig {
  readonly credentials: Credentials;
  readonly server: string;
  readonly token?: string;
  readonly ca?: Buffer;
}

function view(credentials: Credentials): KubeApiConfig {
  const auth = credentials.authorization();
  return {
    credentials,
    server: credentials.server.href,
    ...(auth?.startsWith("Bearer ") === true ? { token: auth.slice("Bearer ".length) } : {}),
    ...(credentials.ca !== undefined ? { ca: credentials.ca } : {}),
  };
}

/** The pod's own credentials, as every in-cluster client finds them. */
export function inClusterConfig(env: Readonly<Record<string, string | undefined>>, saDir = SERVICE_ACCOUNT_DIR): Promise<KubeApiConfig> {
  const host = env["KUBERNETES_SERVICE_HOST"];
  if (host === undefined || host === "") return Promise.reject(new Error("not running in a cluster (KUBERNETES_SERVICE_HOST is unset); pass --kubeconfig"));
  try {
    return Promise.resolve(view(inClusterCredentials({ ...env }, saDir)));
  } catch (e: unknown) {
    return Promise.reject(new Error(`cannot read the ServiceAccount credentials in ${saDir}: ${e instanceof Error ? e.message : String(e)}`));
  }
}

/** The current context of a kubeconfig file. */
export function kubeconfigConfig(path: string): Promise<KubeApiConfig> {
  try {
    return Promise.resolve(view(loadCredentials(path, {})));
  } catch (e: unknown) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

/** The client for these credentials. */
export function apiGetter(config: KubeApiConfig): Kube {
  return new KubeAdapter({ credentials: config.credentials, userAgent: "plan-runner/executors" });
}

const WORKLOADS: Record<WorkloadRef["kind"], Resource> = {
  Deployment: { group: "apps", version: "v1", plural: "deployments", namespaced: true },
  DaemonSet: { group: "apps", version: "v1", plural: "daemonsets", namespaced: true },
  StatefulSet: { group: "apps", version: "v1", plural: "statefulsets", namespaced: true },
};

interface NodeObject extends KubeObject {
  status?: { nodeInfo?: { kubeletVersion?: string; containerRuntimeVersion?: string } };
}
interface WorkloadObject extends KubeObject {
  spec?: { template?: { spec?: { containers?: Array<{ image?: string }> } } };
}

/** What the API server said, without the request line the client puts in front. */
const said = (e: unknown): string =>
  e instanceof KubeError ? `HTTP ${e.status} ${e.message.replace(/^.*?: \d+ [^:]*: /, "")}` : e instanceof Error ? e.message : String(e);

/** The gate's ClusterReader over the API: list nodes, get a workload. */
export function apiClusterReader(kube: Kube): ClusterReader {
  return {
    async listNodes(): Promise<NodeFacts[]> {
      const nodes: NodeFacts[] = [];
      let next: string | undefined = "";
      while (next !== undefined) {
        const page: List<NodeObject> = await kube
          .list<NodeObject>(resources.nodes, undefined, { limit: 500, ...(next !== "" ? { continue: next } : {}) })
          .catch((e: unknown) => {
            throw new Error(`cannot list nodes: ${said(e)}`.trim());
          });
        for (const item of page.items) {
          const info = item.status?.nodeInfo ?? {};
          nodes.push({ name: item.metadata.name, kubeletVersion: info.kubeletVersion ?? "", containerRuntimeVersion: info.containerRuntimeVersion ?? "" });
        }
        next = page.metadata.continue === "" ? undefined : page.metadata.continue;
      }
      return nodes;
    },
    async workloadImages(ref: WorkloadRef): Promise<string[]> {
      let w: WorkloadObject;
      try {
        w = await kube.get<WorkloadObject>(WORKLOADS[ref.kind], ref.namespace, ref.name);
      } catch (e: unknown) {
        if (e instanceof KubeError && e.notFound) throw new Error(`${ref.kind} ${ref.namespace}/${ref.name} not found`);
        throw new Error(`cannot read ${ref.kind} ${ref.namespace}/${ref.name}: ${said(e)}`.trim());
      }
      return (w.spec?.template?.spec?.containers ?? []).map((c) => c.image).filter((i): i is string => i !== undefined && i !== "");
    },
  };
}
