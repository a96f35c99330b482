/* generated from schemas/plan.schema.json by `npm run gen`; do not edit */

/**
 * upgrade.cattle.io/v1 Plan: an outstanding intent to run an upgrade on a set of nodes. Every rancher/system-upgrade-controller field keeps its meaning; the plan-runner extensions (order, after, gates, failurePolicy, drain.unblockPDB, window.cron/duration) are optional.
 */
export interface Plan {
  apiVersion: "upgrade.cattle.io/v1";
  kind: "Plan";
  metadata: ObjectMeta;
  spec: PlanSpec;
  status?: PlanStatus;
}
/**
 * Kubernetes object metadata; the API server owns most of it, so only the fields a Plan file sets are checked.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "ObjectMeta".
 */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: {
    [k: string]: string | undefined;
  };
  annotations?: {
    [k: string]: string | undefined;
  };
  [k: string]: unknown | undefined;
}
/**
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "PlanSpec".
 */
export interface PlanSpec {
  /**
   * Most nodes upgraded at once. SUC treats a missing or 0 value as 'select nothing'; plan-runner defaults to 1 and rejects 0, because a Plan that silently does nothing is never what was meant.
   */
  concurrency?: number;
  /**
   * Deadline of each upgrade pod in seconds. Missing or negative: the controller's default; 0: no deadline; capped by the controller's maximum.
   */
  jobActiveDeadlineSecs?: number;
  nodeSelector?: LabelSelector;
  /**
   * ServiceAccount of the upgrade pods; part of the Plan hash.
   */
  serviceAccountName?: string;
  /**
   * URL answering HTTP 302; the last path element of Location is the version. Ignored when version is set.
   */
  channel?: string;
  /**
   * Version to apply ('+' becomes '-'). When set, channel is never polled.
   */
  version?: string;
  /**
   * Secrets mounted into the upgrade pods; their contents are part of the Plan hash unless ignoreUpdates.
   */
  secrets?: SecretSpec[];
  tolerations?: Toleration[];
  /**
   * An upgrade pod of this Plan never shares a node with one of another exclusive Plan.
   */
  exclusive?: boolean;
  window?: TimeWindowSpec;
  prepare?: ContainerSpec;
  upgrade: ContainerSpec;
  /**
   * Cordon the node before the upgrade (implied by drain).
   */
  cordon?: boolean;
  drain?: DrainSpec;
  imagePullSecrets?: LocalObjectReference[];
  /**
   * Wait this long (Go duration such as 30s, 5m) after a node's upgrade before the next node takes its slot.
   */
  postCompleteDelay?: string;
  priorityClassName?: string;
  /**
   * Labels set on a node when it is done; values may use $(LATEST_VERSION) and $(LATEST_HASH).
   */
  postCompleteLabels?: {
    [k: string]: string | undefined;
  };
  order?: OrderSpec;
  /**
   * Names of Plans in the same namespace that must be Complete before this Plan starts a node.
   */
  after?: string[];
  gates?: GatesSpec;
  failurePolicy?: FailurePolicy;
}
/**
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "LabelSelector".
 */
export interface LabelSelector {
  matchLabels?: {
    [k: string]: string | undefined;
  };
  matchExpressions?: {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    values?: string[];
  }[];
}
/**
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "SecretSpec".
 */
export interface SecretSpec {
  name: string;
  path: string;
  /**
   * Mount the secret optional and leave its contents out of the Plan hash.
   */
  ignoreUpdates?: boolean;
  defaultMode?: number;
}
/**
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "Toleration".
 */
export interface Toleration {
  key?: string;
  operator?: "Exists" | "Equal";
  value?: string;
  effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  tolerationSeconds?: number;
}
/**
 * When new nodes may start: days + startTime/endTime (SUC), or cron + duration (plan-runner). A node that started inside the window finishes outside it.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "TimeWindowSpec".
 */
export interface TimeWindowSpec {
  /**
   * 0-6, su..sa, sun..sat or sunday..saturday (any case). The API server rejects anything else.
   *
   * @minItems 1
   */
  days?: [string, ...string[]];
  /**
   * Clock time as SUC reads it: 01:00, 01:00:00, 01:00am, 1am or 13 (a one-digit hour with minutes and am/pm, such as 1:00am, is refused).
   */
  startTime?: string;
  endTime?: string;
  /**
   * IANA zone; default UTC.
   */
  timeZone?: string;
  /**
   * Five-field cron expression: each match opens the window for duration.
   */
  cron?: string;
  /**
   * Go duration the window stays open after each cron match.
   */
  duration?: string;
}
/**
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "ContainerSpec".
 */
export interface ContainerSpec {
  /**
   * Image; when it has no tag, status.latestVersion is used as the tag.
   */
  image: string;
  command?: string[];
  args?: string[];
  envs?: EnvVar[];
  envFrom?: EnvFromSource[];
  volumes?: VolumeSpec[];
  securityContext?: SecurityContext;
}
/**
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "EnvVar".
 */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: {
      apiVersion?: string;
      fieldPath: string;
    };
    resourceFieldRef?: {
      containerName?: string;
      resource: string;
      divisor?: number | string;
    };
    configMapKeyRef?: KeySelector;
    secretKeyRef?: KeySelector;
  };
}
/**
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "KeySelector".
 */
export interface KeySelector {
  name?: string;
  key: string;
  optional?: boolean;
}
/**
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "EnvFromSource".
 */
export interface EnvFromSource {
  prefix?: string;
  configMapRef?: OptionalReference;
  secretRef?: OptionalReference;
}
/**
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "OptionalReference".
 */
export interface OptionalReference {
  name?: string;
  optional?: boolean;
}
/**
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "VolumeSpec".
 */
export interface VolumeSpec {
  name: string;
  /**
   * Path on the host.
   */
  source: string;
  /**
   * Path in the container.
   */
  destination: string;
}
/**
 * A core/v1 SecurityContext. When set on upgrade, it replaces the default privileged + CAP_SYS_BOOT.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "SecurityContext".
 */
export interface SecurityContext {
  allowPrivilegeEscalation?: boolean;
  appArmorProfile?: {
    type: string;
    localhostProfile?: string;
  };
  capabilities?: {
    add?: string[];
    drop?: string[];
  };
  privileged?: boolean;
  procMount?: string;
  readOnlyRootFilesystem?: boolean;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  seLinuxOptions?: {
    level?: string;
    role?: string;
    type?: string;
    user?: string;
  };
  seccompProfile?: {
    type: string;
    localhostProfile?: string;
  };
  windowsOptions?: {
    gmsaCredentialSpec?: string;
    gmsaCredentialSpecName?: string;
    hostProcess?: boolean;
    runAsUserName?: string;
  };
}
/**
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "DrainSpec".
 */
export interface DrainSpec {
  /**
   * How long the drain may take: an integer number of nanoseconds (as SUC) or a Go duration string.
   */
  timeout?: number | string;
  gracePeriod?: number;
  deleteLocalData?: boolean;
  deleteEmptydirData?: boolean;
  ignoreDaemonSets?: boolean;
  force?: boolean;
  disableEviction?: boolean;
  skipWaitForDeleteTimeout?: number;
  podSelector?: LabelSelector;
  /**
   * After the drain timeout, delete the pods whose PodDisruptionBudget allows no disruption (instead of failing the node).
   */
  unblockPDB?: boolean;
}
/**
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "LocalObjectReference".
 */
export interface LocalObjectReference {
  name?: string;
}
/**
 * How eligible nodes are ranked. Default: control-plane nodes first, then by name.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "OrderSpec".
 */
export interface OrderSpec {
  controlPlaneFirst?: boolean;
  /**
   * Priority groups: nodes matching the first selector go first, and so on; unmatched nodes last. Within a group, by name.
   */
  groups?: LabelSelector[];
}
/**
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "GatesSpec".
 */
export interface GatesSpec {
  prometheus?: {
    url: string;
    /**
     * Regular expression of alert names that do not hold the rollout.
     */
    ignoreAlerts?: string;
  };
  health?: {
    /**
     * Go duration the upgraded node and its pods must stay Ready before the next node starts.
     */
    soak?: string;
    /**
     * Go duration after which a node that has not come back Ready fails.
     */
    timeout?: string;
  };
  /**
   * Preflight: checked before the rollout starts and before each further node. Every node of the cluster must be Ready with no MemoryPressure, DiskPressure or PIDPressure, and no node's Ready condition may have changed within quietPeriod (a node that just rebooted defers the rollout). Nodes this Plan, or a Plan in spec.after, upgraded in its current rollout are exempt from the quiet period. Until it passes the Plan is Waiting and no new node starts.
   */
  cluster?: {
    /**
     * Go duration: no node's Ready condition may have changed within it (the seed pipeline's 24h baseline). "0s" turns the check off.
     */
    quietPeriod?: string;
    /**
     * Optional: at least this share of running pods (in podNamespaces, else the whole cluster) must be Ready, e.g. 0.9. Pods that cannot be read hold the rollout (fail safe).
     */
    minReadyPodsRatio?: number;
    /**
     * Namespaces minReadyPodsRatio counts; absent or empty: every namespace.
     */
    podNamespaces?: string[];
  };
  /**
   * Postflight, for a Plan whose version is a Kubernetes release (plans/k8s-*.yaml): once the Plan is Complete, every node it selects must report status.latestVersion as its kubelet version, and (apiServer) so must the API server's /version. The result is the Verified condition; a mismatch is a Warning Event naming the nodes. A Plan without it (every SUC Plan) has no Verified condition.
   */
  postflight?: {
    /**
     * Also compare the API server's /version gitVersion with the target.
     */
    apiServer?: boolean;
  };
}
/**
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "FailurePolicy".
 */
export interface FailurePolicy {
  /**
   * Extra attempts per node after the first failure.
   */
  retries?: number;
  /**
   * Go duration before the first retry; doubles each retry.
   */
  backoff?: string;
  /**
   * halt: no further node starts until the Plan is edited; skip: record the failure and move on.
   */
  onExhausted?: "halt" | "skip";
}
/**
 * Written by the controller. No enums and unknown fields kept, so an older controller can always write over what a newer one wrote (seed lesson: an enum in a status schema made a rollback unable to write status).
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "PlanStatus".
 */
export interface PlanStatus {
  conditions?: {
    type?: string;
    status?: string;
    lastUpdateTime?: string;
    lastTransitionTime?: string;
    reason?: string;
    message?: string;
    [k: string]: unknown | undefined;
  }[];
  latestVersion?: string;
  latestHash?: string;
  applying?: string[];
  /**
   * One word for kubectl get: Applying, Complete, Held, Blocked, Halted, Waiting, Invalid.
   */
  state?: string;
  /**
   * complete/total, for kubectl get.
   */
  progress?: string;
  message?: string;
  observedGeneration?: number;
  counts?: {
    total?: number;
    complete?: number;
    applying?: number;
    failed?: number;
    pending?: number;
    [k: string]: unknown | undefined;
  };
  failures?: {
    node?: string;
    reason?: string;
    message?: string;
    attempts?: number;
    pod?: string;
    hash?: string;
    [k: string]: unknown | undefined;
  }[];
  /**
   * What the controller's notification webhook (--notify-secret) has announced for the current rollout, so a restarted or new leader does not announce it again: latestHash it refers to, and one key per message (started, failed/<node>, Held/<reason>, Blocked/<reason>, Halted/<reason>, complete). Absent when notifications are off.
   */
  notified?: {
    /**
     * The status.latestHash these keys belong to; a new hash starts an empty list.
     */
    hash?: string;
    /**
     * Keys of the messages queued for the webhook under this hash.
     */
    sent?: string[];
    [k: string]: unknown | undefined;
  };
  [k: string]: unknown | undefined;
}
