import type { CompiledAlerts } from "../../plan/compile.ts";
import type { AlertReading, Resolution, ServerVersion } from "../rollout/decision.ts";
import type { KubeObject, List } from "../rollout/objects.ts";

/** A resource the controller talks to: its REST path, and whether it is namespaced. */
export interface Resource {
  readonly group: string; // "" for the core group
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

export const resources = {
  plans: { group: "upgrade.cattle.io", version: "v1", plural: "plans", namespaced: true },
  nodes: { group: "", version: "v1", plural: "nodes", namespaced: false },
  pods: { group: "", version: "v1", plural: "pods", namespaced: true },
  secrets: { group: "", version: "v1", plural: "secrets", namespaced: true },
  events: { group: "", version: "v1", plural: "events", namespaced: true },
  leases: { group: "coordination.k8s.io", version: "v1", plural: "leases", namespaced: true },
  pdbs: { group: "policy", version: "v1", plural: "poddisruptionbudgets", namespaced: true },
  namespaces: { group: "", version: "v1", plural: "namespaces", namespaced: false },
  serviceAccounts: { group: "", version: "v1", plural: "serviceaccounts", namespaced: true },
  priorityClasses: { group: "scheduling.k8s.io", version: "v1", plural: "priorityclasses", namespaced: false },
} as const satisfies Record<string, Resource>;

export interface ListOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly resourceVersion?: string;
  readonly limit?: number;
  readonly continue?: string;
}

export type WatchEvent<T> =
  | { readonly type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK"; readonly object: T }
  | { readonly type: "ERROR"; readonly object: { code?: number; reason?: string; message?: string } };

/**
 * What failed, for callers that must decide what happens next: retry, back off, or tell the
 * user (docs/architecture.md, "Errors"). Callers never match on message text, which the
 * API server may reword. `status` 0 is a transport error.
 */
export class KubeError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly verb: string,
    readonly path: string,
  ) {
    super(message);
    this.name = "KubeError";
  }
  get notFound(): boolean {
    return this.status === 404;
  }
  get alreadyExists(): boolean {
    return this.status === 409 && this.reason === "AlreadyExists";
  }
  get conflict(): boolean {
    return this.status === 409 && this.reason !== "AlreadyExists";
  }
  get tooManyRequests(): boolean {
    return this.status === 429;
  }
  get gone(): boolean {
    return this.status === 410;
  }
  /**
   * Retrying cannot fix it until the Plan or the cluster changes: Pod Security or RBAC refused
   * (403, which is also how a missing PriorityClass is refused), the object is invalid (400, 422).
   */
  get terminal(): boolean {
    return this.status === 400 || this.status === 403 || this.status === 422;
  }
  /** Worth retrying as is: throttling, conflicts, server or network trouble. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 409 || this.status === 429 || this.status >= 500;
  }
}

export type PatchType = "merge" | "json" | "strategic";

/** The controller's only window onto the API server. Implemented by kube/adapter.ts. */
export interface Kube {
  list<T extends KubeObject>(r: Resource, namespace: string | undefined, opts?: ListOptions): Promise<List<T>>;
  get<T extends KubeObject>(r: Resource, namespace: string | undefined, name: string): Promise<T>;
  create<T extends KubeObject>(r: Resource, namespace: string | undefined, obj: T): Promise<T>;
  replace<T extends KubeObject>(r: Resource, namespace: string | undefined, obj: T, subresource?: "status"): Promise<T>;
  patch<T extends KubeObject>(
    r: Resource,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    opts?: { type?: PatchType; subresource?: "status" },
  ): Promise<T>;
  delete(r: Resource, namespace: string | undefined, name: string, opts?: { gracePeriodSeconds?: number; uid?: string }): Promise<void>;
  /** policy/v1 Eviction of a pod; a PDB refusal is a KubeError with status 429. */
  evict(namespace: string, name: string, opts?: { gracePeriodSeconds?: number }): Promise<void>;
  /** Streams watch events until the signal aborts or the server closes; resolves when the stream ends. */
  watch<T extends KubeObject>(
    r: Resource,
    namespace: string | undefined,
    opts: ListOptions & { allowWatchBookmarks?: boolean; timeoutSeconds?: number },
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void>;
}

/** Where a Plan's channel points: the latest version, or why there is none. Implemented by channel.ts. */
export interface ChannelPort {
  latest(
    url: string,
    opts: {
      readonly clusterId?: string | undefined;
      readonly latestVersion?: string | undefined;
      readonly timeoutMs: number;
      readonly signal?: AbortSignal | undefined;
    },
  ): Promise<Resolution>;
}

/** gates.prometheus: which alerts fire now. Implemented by alerts.ts. */
export interface AlertsPort {
  firing(gate: CompiledAlerts): Promise<AlertReading>;
}

/** gates.postflight: the version the API server reports (GET /version). Implemented by adapter.ts. */
export interface ServerVersionPort {
  serverVersion(): Promise<ServerVersion>;
}
