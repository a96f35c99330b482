// The only file that imports @kubernetes/client-node (style rule 6). client-node is used for
// what it does well — loading a kubeconfig or the in-cluster service account and turning it
// into TLS options and headers — while requests go through node:https as plain JSON, so the
// rest of the controller sees the API's own shapes (no Date conversion) and every request is
// counted in one place.
import { KubeConfig } from "@kubernetes/client-node";
import { Agent, request, type RequestOptions } from "node:https";
import { request as httpRequest } from "node:http";
import type { KubeObject, List } from "./kube-types.ts";
import { type Kube, KubeError, type ListOptions, type PatchType, type Resource, type WatchEvent } from "./ports.ts";

export interface AdapterOptions {
  /** kubeconfig file; undefined means in-cluster, then the default loading rules. */
  readonly kubeconfig?: string | undefined;
  /** Called once per request, for the api_requests metric and the bench. */
  readonly onRequest?: (verb: string, resource: string, code: number) => void;
  readonly userAgent?: string;
}

const patchTypes: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
};

export function loadKubeConfig(kubeconfig?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig !== undefined) kc.loadFromFile(kubeconfig);
  else if (process.env["KUBERNETES_SERVICE_HOST"] !== undefined) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

function basePath(r: Resource, namespace: string | undefined): string {
  const root = r.group === "" ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  return r.namespaced && namespace !== undefined ? `${root}/namespaces/${encodeURIComponent(namespace)}/${r.plural}` : `${root}/${r.plural}`;
}

function query(opts: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(opts)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s === "" ? "" : `?${s}`;
}

export class KubeAdapter implements Kube {
  private readonly kc: KubeConfig;
  private readonly server: URL;
  private auth: { opts: RequestOptions; at: number } | undefined;

  constructor(private readonly options: AdapterOptions = {}) {
    this.kc = loadKubeConfig(options.kubeconfig);
    const cluster = this.kc.getCurrentCluster();
    if (cluster === null) throw new Error("kubeconfig has no current cluster");
    this.server = new URL(cluster.server);
  }

  /** TLS material and headers, refreshed every minute so rotated service-account tokens are picked up. */
  private async requestOptions(): Promise<RequestOptions> {
    const now = Date.now();
    if (this.auth !== undefined && now - this.auth.at < 60_000) return this.auth.opts;
    const opts: RequestOptions = { headers: {} };
    await this.kc.applyToHTTPSOptions(opts);
    // One agent for the process's life (watches hold its sockets); only the headers refresh.
    const agent =
      this.auth?.opts.agent instanceof Agent
        ? this.auth.opts.agent
        : new Agent({
      keepAlive: true,
      maxSockets: 32,
      ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
      ...(opts.cert !== undefined ? { cert: opts.cert } : {}),
      ...(opts.key !== undefined ? { key: opts.key } : {}),
      ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
    });
    const headers: Record<string, string> = { ...(opts.headers as Record<string, string>), "User-Agent": this.options.userAgent ?? "plan-runner" };
    if (typeof opts.auth === "string") headers["Authorization"] = `Basic ${Buffer.from(opts.auth).toString("base64")}`;
    this.auth = { opts: { agent, headers }, at: now };
    return this.auth.opts;
  }

  private async send(
    verb: string,
    method: string,
    path: string,
    resource: string,
    body?: unknown,
    contentType = "application/json",
    signal?: AbortSignal,
  ): Promise<{ status: number; text: string }> {
    const base = await this.requestOptions();
    const url = new URL(path, this.server);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { ...(base.headers as Record<string, string>), Accept: "application/json" };
    if (payload !== undefined) {
      headers["Content-Type"] = contentType;
      headers["Content-Length"] = String(Buffer.byteLength(payload));
    }
    const doRequest = url.protocol === "https:" ? request : httpRequest;
    return new Promise((resolve, reject) => {
      const req = doRequest(
        url,
        { method, headers, ...(url.protocol === "https:" ? { agent: base.agent } : {}), ...(signal !== undefined ? { signal } : {}), timeout: 60_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            this.options.onRequest?.(verb, resource, status);
            resolve({ status, text: Buffer.concat(chunks).toString("utf8") });
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${verb} ${path}: timed out`)));
      req.on("error", (e) => {
        this.options.onRequest?.(verb, resource, 0);
        reject(new KubeError(0, "Transport", `${verb} ${path}: ${e.message}`, verb, path));
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  private async call<T>(verb: string, method: string, path: string, resource: string, body?: unknown, contentType?: string): Promise<T> {
    const { status, text } = await this.send(verb, method, path, resource, body, contentType);
    if (status >= 200 && status < 300) return (text === "" ? {} : JSON.parse(text)) as T;
    let reason = "Unknown";
    let message = text.slice(0, 500);
    try {
      const s = JSON.parse(text) as { reason?: string; message?: string };
      reason = s.reason ?? reason;
      message = s.message ?? message;
    } catch {
      // not a Status object; the raw text is the message
    }
    throw new KubeError(status, reason, `${verb} ${path}: ${status} ${reason}: ${message}`, verb, path);
  }

  list<T extends KubeObject>(r: Resource, namespace: string | undefined, opts: ListOptions = {}): Promise<List<T>> {
    return this.call("list", "GET", basePath(r, namespace) + query({ ...opts }), r.plural);
  }

  get<T extends KubeObject>(r: Resource, namespace: string | undefined, name: string): Promise<T> {
    return this.call("get", "GET", `${basePath(r, namespace)}/${encodeURIComponent(name)}`, r.plural);
  }

  create<T extends KubeObject>(r: Resource, namespace: string | undefined, obj: T): Promise<T> {
    return this.call("create", "POST", basePath(r, namespace), r.plural, obj);
  }

  replace<T extends KubeObject>(r: Resource, namespace: string | undefined, obj: T, subresource?: "status"): Promise<T> {
    const sub = subresource === undefined ? "" : `/${subresource}`;
    return this.call("update", "PUT", `${basePath(r, namespace)}/${encodeURIComponent(obj.metadata.name)}${sub}`, r.plural, obj);
  }

  patch<T extends KubeObject>(
    r: Resource,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    opts: { type?: PatchType; subresource?: "status" } = {},
  ): Promise<T> {
    const sub = opts.subresource === undefined ? "" : `/${opts.subresource}`;
    return this.call("patch", "PATCH", `${basePath(r, namespace)}/${encodeURIComponent(name)}${sub}`, r.plural, patch, patchTypes[opts.type ?? "merge"]);
  }

  async delete(r: Resource, namespace: string | undefined, name: string, opts: { gracePeriodSeconds?: number; uid?: string } = {}): Promise<void> {
    const body: Record<string, unknown> = { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background" };
    if (opts.gracePeriodSeconds !== undefined) body["gracePeriodSeconds"] = opts.gracePeriodSeconds;
    if (opts.uid !== undefined) body["preconditions"] = { uid: opts.uid };
    await this.call("delete", "DELETE", `${basePath(r, namespace)}/${encodeURIComponent(name)}`, r.plural, body);
  }

  async evict(namespace: string, name: string, opts: { gracePeriodSeconds?: number } = {}): Promise<void> {
    const body = {
      apiVersion: "policy/v1",
      kind: "Eviction",
      metadata: { name, namespace },
      ...(opts.gracePeriodSeconds !== undefined ? { deleteOptions: { gracePeriodSeconds: opts.gracePeriodSeconds } } : {}),
    };
    await this.call("evict", "POST", `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/eviction`, "pods/eviction", body);
  }

  async watch<T extends KubeObject>(
    r: Resource,
    namespace: string | undefined,
    opts: ListOptions & { allowWatchBookmarks?: boolean; timeoutSeconds?: number },
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const base = await this.requestOptions();
    const url = new URL(basePath(r, namespace) + query({ ...opts, watch: true }), this.server);
    const doRequest = url.protocol === "https:" ? request : httpRequest;
    await new Promise<void>((resolve, reject) => {
      const req = doRequest(
        url,
        { method: "GET", headers: { ...(base.headers as Record<string, string>) }, ...(url.protocol === "https:" ? { agent: base.agent } : {}), signal },
        (res) => {
          this.options.onRequest?.("watch", r.plural, res.statusCode ?? 0);
          if ((res.statusCode ?? 0) !== 200) {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => reject(new KubeError(res.statusCode ?? 0, "WatchFailed", `watch ${url.pathname}: ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 300)}`, "watch", url.pathname)));
            return;
          }
          let buffered = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            buffered += chunk;
            let nl: number;
            while ((nl = buffered.indexOf("\n")) >= 0) {
              const line = buffered.slice(0, nl).trim();
              buffered = buffered.slice(nl + 1);
              if (line !== "") onEvent(JSON.parse(line) as WatchEvent<T>);
            }
          });
          res.on("end", () => resolve());
          res.on("error", (e) => (signal.aborted ? resolve() : reject(e)));
        },
      );
      req.on("error", (e) => (signal.aborted ? resolve() : reject(new KubeError(0, "Transport", `watch ${url.pathname}: ${e.message}`, "watch", url.pathname))));
      req.end();
    });
  }
}
