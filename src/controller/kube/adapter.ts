// The only file that may import @kubernetes/client-node (lint enforces it), and it does so only
// for kubeconfig users with exec or auth-provider plugins (see kube/credentials.ts for why).
// Requests go through node:https as plain JSON, so the rest of the controller sees the API's
// own shapes (no Date conversion) and every request is counted in one place.
import { Agent, type AgentOptions, request, type RequestOptions } from "node:https";
import { type IncomingHttpHeaders, request as httpRequest } from "node:http";
import { type Credentials, loadCredentials } from "./credentials.ts";
import { TunnelAgent } from "./tunnel-agent.ts";
import { DEFAULT_RATE_LIMIT, type RateLimit, TokenBucket, retryAfterMs } from "./rate-limit.ts";
import type { KubeObject, List } from "../rollout/objects.ts";
import type { ServerVersion } from "../rollout/decision.ts";
import { type Kube, KubeError, type ListOptions, type PatchType, type Resource, type ServerVersionPort, type WatchEvent } from "./ports.ts";

export interface AdapterOptions {
  /** kubeconfig file; undefined means in-cluster, then $KUBECONFIG or ~/.kube/config. */
  readonly kubeconfig?: string | undefined;
  /** Called once per request, for the api_requests metric and the bench; `path` without its query (what RBAC is asked about). */
  /** After each request: `seconds` from sending it to its answer read (undefined for a watch: it lasts). */
  readonly onRequest?: (verb: string, resource: string, code: number, path: string, seconds?: number) => void;
  /** A request waited this long (ms) for the client-side rate limit. */
  readonly onThrottle?: (ms: number) => void;
  readonly userAgent?: string;
  /** Already loaded credentials (the node-side commands load theirs themselves); else from `kubeconfig`. */
  readonly credentials?: Credentials;
  readonly rateLimit?: RateLimit;
}

/** Throttled (429) requests are sent again this often at most, after the server's Retry-After. */
const MAX_THROTTLED_RETRIES = 3;

const patchTypes: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
};

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

export class KubeAdapter implements Kube, ServerVersionPort {
  private readonly creds: Credentials;
  private readonly server: URL;
  private readonly agent: Agent;
  private plugin: { at: number; headers: Record<string, string> } | undefined;
  private readonly bucket: TokenBucket;

  constructor(private readonly options: AdapterOptions = {}) {
    this.creds = options.credentials ?? loadCredentials(options.kubeconfig);
    this.server = this.creds.server;
    this.bucket = new TokenBucket(options.rateLimit ?? DEFAULT_RATE_LIMIT);
    // One agent for the process's life: watches hold its sockets.
    const agentOptions: AgentOptions = {
      keepAlive: true,
      maxSockets: 96,
      ...(this.creds.ca !== undefined ? { ca: this.creds.ca } : {}),
      ...(this.creds.cert !== undefined ? { cert: this.creds.cert } : {}),
      ...(this.creds.key !== undefined ? { key: this.creds.key } : {}),
      ...(this.creds.tlsServerName !== undefined ? { servername: this.creds.tlsServerName } : {}),
      rejectUnauthorized: !this.creds.insecure,
    };
    this.agent = this.creds.proxy !== undefined ? new TunnelAgent(this.creds.proxy, agentOptions) : new Agent(agentOptions);
  }

  /** Where a request goes: the server, or for plain HTTP through a proxy, the proxy with the full URL as path. */
  private route(url: URL, base: RequestOptions): { url: URL; options: RequestOptions } {
    if (url.protocol === "https:") {
      return { url, options: { agent: base.agent, ...(this.creds.tlsServerName !== undefined ? { servername: this.creds.tlsServerName } : {}) } };
    }
    const proxy = this.creds.proxy;
    if (proxy === undefined) return { url, options: {} };
    return { url: proxy, options: { path: url.href, headers: { Host: url.host } } };
  }

  private async requestOptions(): Promise<RequestOptions> {
    const headers: Record<string, string> = { "User-Agent": this.options.userAgent ?? "plan-runner" };
    const authorization = this.creds.plugin !== undefined ? (await this.pluginHeaders())["Authorization"] : this.creds.authorization();
    if (authorization !== undefined) headers["Authorization"] = authorization;
    return { agent: this.agent, headers };
  }

  /** exec and auth-provider users: client-node runs the plugin; its token is cached for a minute. */
  private async pluginHeaders(): Promise<Record<string, string>> {
    if (this.plugin !== undefined && Date.now() - this.plugin.at < 60_000) return this.plugin.headers;
    const { KubeConfig } = await import("@kubernetes/client-node");
    const kc = new KubeConfig();
    kc.loadFromFile(this.creds.plugin!.kubeconfig);
    const opts: RequestOptions = { headers: {} };
    await kc.applyToHTTPSOptions(opts);
    this.plugin = { at: Date.now(), headers: opts.headers as Record<string, string> };
    return this.plugin.headers;
  }

  private async send(
    verb: string,
    method: string,
    path: string,
    resource: string,
    body?: unknown,
    contentType = "application/json",
    signal?: AbortSignal,
  ): Promise<{ status: number; text: string; headers: IncomingHttpHeaders }> {
    const base = await this.requestOptions();
    const asked = new URL(path, this.server);
    const route = this.route(asked, base);
    const url = route.url;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { ...(base.headers as Record<string, string>), Accept: "application/json" };
    if (payload !== undefined) {
      headers["Content-Type"] = contentType;
      headers["Content-Length"] = String(Buffer.byteLength(payload));
    }
    const doRequest = url.protocol === "https:" ? request : httpRequest;
    const sentAt = performance.now();
    const took = (): number => (performance.now() - sentAt) / 1000;
    return new Promise((resolve, reject) => {
      const req = doRequest(
        url,
        {
          method,
          ...route.options,
          headers: { ...headers, ...(route.options.headers as Record<string, string> | undefined) },
          ...(signal !== undefined ? { signal } : {}),
          timeout: 60_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            this.options.onRequest?.(verb, resource, status, asked.pathname, took());
            resolve({ status, text: Buffer.concat(chunks).toString("utf8"), headers: res.headers });
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${verb} ${path}: timed out`)));
      req.on("error", (e) => {
        this.options.onRequest?.(verb, resource, 0, asked.pathname, took());
        reject(new KubeError(0, "Transport", `${verb} ${path}: ${e.message}`, verb, path));
      });
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /**
   * One request, within the client-side rate limit. A 429 is sent again after the server's
   * Retry-After, except an eviction's: that 429 is a PodDisruptionBudget's answer, which the
   * drain reads.
   */
  private async call<T>(verb: string, method: string, path: string, resource: string, body?: unknown, contentType?: string): Promise<T> {
    let answer: Awaited<ReturnType<KubeAdapter["send"]>>;
    for (let attempt = 0; ; attempt++) {
      const waited = await this.bucket.take();
      if (waited > 0) this.options.onThrottle?.(waited);
      answer = await this.send(verb, method, path, resource, body, contentType);
      const wait =
        answer.status === 429 && verb !== "evict" && attempt < MAX_THROTTLED_RETRIES
          ? (retryAfterMs(answer.headers["retry-after"], Date.now()) ?? 1000)
          : undefined;
      if (wait === undefined) break;
      await new Promise((r) => setTimeout(r, wait));
    }
    const { status, text } = answer;
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

  /** The API server's own version (GET /version, readable by every authenticated user), or why it cannot be read. */
  async serverVersion(): Promise<ServerVersion> {
    try {
      const v = await this.call<{ gitVersion?: string }>("get", "GET", "/version", "version");
      return typeof v.gitVersion === "string" && v.gitVersion !== "" ? { gitVersion: v.gitVersion } : { error: "GET /version: no gitVersion in the answer" };
    } catch (e: unknown) {
      return { error: e instanceof Error ? e.message : String(e) };
    }
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
    const route = this.route(url, base);
    const doRequest = route.url.protocol === "https:" ? request : httpRequest;
    await new Promise<void>((resolve, reject) => {
      const req = doRequest(
        route.url,
        {
          method: "GET",
          ...route.options,
          headers: { ...(base.headers as Record<string, string>), ...(route.options.headers as Record<string, string> | undefined) },
          signal,
        },
        (res) => {
          this.options.onRequest?.("watch", r.plural, res.statusCode ?? 0, url.pathname);
          if ((res.statusCode ?? 0) !== 200) {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () =>
              reject(
                new KubeError(
                  res.statusCode ?? 0,
                  "WatchFailed",
                  `watch ${url.pathname}: ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 300)}`,
                  "watch",
                  url.pathname,
                ),
              ),
            );
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
      req.on("error", (e) =>
        signal.aborted ? resolve() : reject(new KubeError(0, "Transport", `watch ${url.pathname}: ${e.message}`, "watch", url.pathname)),
      );
      req.end();
    });
  }
}
