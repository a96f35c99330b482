// The executors' read-only window on the Kubernetes API: plain HTTPS GETs with the pod's
// ServiceAccount (or a kubeconfig), so the node image needs no Kubernetes client library.
import { readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { dirname, isAbsolute, join } from "node:path";
import { parse } from "yaml";
import type { WorkloadRef } from "./compat-matrix.ts";
import type { ClusterReader, NodeFacts } from "./compat-gate.ts";

export interface KubeApiConfig {
  readonly server: string;
  readonly ca?: string | Buffer;
  readonly token?: string;
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly insecureSkipTlsVerify?: boolean;
}

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The pod's own credentials, as every in-cluster client finds them. */
export async function inClusterConfig(env: Readonly<Record<string, string | undefined>>, saDir = SERVICE_ACCOUNT_DIR): Promise<KubeApiConfig> {
  const host = env["KUBERNETES_SERVICE_HOST"];
  const port = env["KUBERNETES_SERVICE_PORT"] ?? "443";
  if (host === undefined || host === "") throw new Error("not running in a cluster (KUBERNETES_SERVICE_HOST is unset); pass --kubeconfig");
  const [token, ca] = await Promise.all([readFile(join(saDir, "token"), "utf8"), readFile(join(saDir, "ca.crt"))]).catch((e: unknown) => {
    throw new Error(`cannot read the ServiceAccount credentials in ${saDir}: ${e instanceof Error ? e.message : String(e)}`);
  });
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return { server: `https://${hostPart}:${port}`, token: token.trim(), ca };
}

type Doc = Record<string, unknown>;
const obj = (v: unknown): Doc => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Doc) : {});
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const named = (list: unknown, name: string, field: string): Doc | undefined => {
  const entry = (Array.isArray(list) ? list : []).map(obj).find((e) => e["name"] === name);
  return entry === undefined ? undefined : obj(entry[field]);
};

/** The current context of a kubeconfig file: token or client certificate; exec plugins are not supported. */
export async function kubeconfigConfig(path: string): Promise<KubeApiConfig> {
  const text = await readFile(path, "utf8").catch((e: unknown) => {
    throw new Error(`cannot read kubeconfig ${path}: ${e instanceof Error ? e.message : String(e)}`);
  });
  const doc = obj(parse(text));
  const base = dirname(path);
  const file = (p: string) => readFile(isAbsolute(p) ? p : join(base, p));
  const contextName = str(doc["current-context"]);
  if (contextName === undefined) throw new Error(`kubeconfig ${path} has no current-context`);
  const context = named(doc["contexts"], contextName, "context");
  if (context === undefined) throw new Error(`kubeconfig ${path}: context "${contextName}" is not defined`);
  const clusterName = str(context["cluster"]) ?? "";
  const cluster = named(doc["clusters"], clusterName, "cluster");
  const server = str(cluster?.["server"]);
  if (cluster === undefined || server === undefined) throw new Error(`kubeconfig ${path}: cluster "${clusterName}" has no server`);
  const user = named(doc["users"], str(context["user"]) ?? "", "user") ?? {};
  if (user["exec"] !== undefined || user["auth-provider"] !== undefined) {
    throw new Error(`kubeconfig ${path}: credential plugins are not supported; use a token or a client certificate`);
  }
  const b64 = (v: unknown) => (str(v) === undefined ? undefined : Buffer.from(v as string, "base64"));
  const fromFile = async (v: unknown) => (str(v) === undefined ? undefined : file(v as string));
  const tokenFile = str(user["tokenFile"]);
  const token = str(user["token"]) ?? (tokenFile === undefined ? undefined : (await file(tokenFile)).toString("utf8").trim());
  const ca = b64(cluster["certificate-authority-data"]) ?? (await fromFile(cluster["certificate-authority"]));
  const cert = b64(user["client-certificate-data"]) ?? (await fromFile(user["client-certificate"]));
  const key = b64(user["client-key-data"]) ?? (await fromFile(user["client-key"]));
  return {
    server,
    ...(ca === undefined ? {} : { ca }),
    ...(token === undefined ? {} : { token }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(cluster["insecure-skip-tls-verify"] === true ? { insecureSkipTlsVerify: true } : {}),
  };
}

export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

export type ApiGet = (path: string) => Promise<ApiAnswer>;

/** GET `path` on the API server, JSON in and out. Network errors and timeouts throw. */
export function apiGetter(config: KubeApiConfig, timeoutMs = 30_000): ApiGet {
  const base = new URL(config.server);
  return (path) =>
    new Promise<ApiAnswer>((resolve, reject) => {
      const url = new URL(path, base);
      const headers: Record<string, string> = { accept: "application/json" };
      if (config.token !== undefined) headers["authorization"] = `Bearer ${config.token}`;
      const options = {
        method: "GET",
        headers,
        timeout: timeoutMs,
        ...(config.ca === undefined ? {} : { ca: config.ca }),
        ...(config.cert === undefined ? {} : { cert: config.cert }),
        ...(config.key === undefined ? {} : { key: config.key }),
        rejectUnauthorized: config.insecureSkipTlsVerify !== true,
      };
      const req = (url.protocol === "http:" ? httpRequest : httpsRequest)(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // a non-JSON error page: keep the text for the message
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error(`no answer from ${base.origin} within ${Math.round(timeoutMs / 1000)}s`)));
      req.on("error", (e) => reject(new Error(`${base.origin}${url.pathname}: ${e.message}`)));
      req.end();
    });
}

const PLURAL: Record<WorkloadRef["kind"], string> = { Deployment: "deployments", DaemonSet: "daemonsets", StatefulSet: "statefulsets" };

function apiMessage(a: ApiAnswer): string {
  const m = obj(a.body)["message"];
  return typeof m === "string" ? m : typeof a.body === "string" ? a.body.slice(0, 200) : "";
}

/** The gate's ClusterReader over the API: list nodes, get a workload. */
export function apiClusterReader(get: ApiGet): ClusterReader {
  return {
    async listNodes(): Promise<NodeFacts[]> {
      const nodes: NodeFacts[] = [];
      let next: string | undefined = "";
      while (next !== undefined) {
        const q = new URLSearchParams({ limit: "500" });
        if (next !== "") q.set("continue", next);
        const a = await get(`/api/v1/nodes?${q.toString()}`);
        if (a.status !== 200) throw new Error(`cannot list nodes: HTTP ${a.status} ${apiMessage(a)}`.trim());
        const list = obj(a.body);
        for (const item of Array.isArray(list["items"]) ? list["items"] : []) {
          const info = obj(obj(obj(item)["status"])["nodeInfo"]);
          nodes.push({
            name: str(obj(obj(item)["metadata"])["name"]) ?? "",
            kubeletVersion: str(info["kubeletVersion"]) ?? "",
            containerRuntimeVersion: str(info["containerRuntimeVersion"]) ?? "",
          });
        }
        next = str(obj(list["metadata"])["continue"]);
      }
      return nodes;
    },
    async workloadImages(ref: WorkloadRef): Promise<string[]> {
      const a = await get(`/apis/apps/v1/namespaces/${encodeURIComponent(ref.namespace)}/${PLURAL[ref.kind]}/${encodeURIComponent(ref.name)}`);
      if (a.status === 404) throw new Error(`${ref.kind} ${ref.namespace}/${ref.name} not found`);
      if (a.status !== 200) throw new Error(`cannot read ${ref.kind} ${ref.namespace}/${ref.name}: HTTP ${a.status} ${apiMessage(a)}`.trim());
      const spec = obj(obj(obj(obj(a.body)["spec"])["template"])["spec"]);
      const containers = Array.isArray(spec["containers"]) ? spec["containers"] : [];
      return containers.map((c) => str(obj(c)["image"])).filter((i): i is string => i !== undefined);
    },
  };
}
