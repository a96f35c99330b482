/* generated from schemas/plan.schema.json by `npm run gen`; do not edit */

/**
 * upgrade.cattle.io/v1 Plan: an outstanding intent to run an upgrade on a set of nodes. Every rancher/system-upgrade-controller field keeps its meaning; the plan-runner extensions (order, after, gates, failurePolicy, drain.unblockPDB, window.cron/duration) are optional.
 */
export interface Plan {
  /**
   * upgrade.cattle.io/v1, the API of rancher/system-upgrade-controller.
   */
  apiVersion: "upgrade.cattle.io/v1";
  /**
   * Plan.
   */
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
 * What to run, on which nodes, how many at once and under which conditions.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "PlanSpec".
 */
export interface PlanSpec {
  /**
   * Most nodes upgraded at once. SUC treats a missing or 0 value as 'select nothing'; plan-runner defaults to 1 and rejects 0, because a Plan that silently does nothing is never what was meant. Default: 1.
   */
  concurrency?: number;
  /**
   * Deadline of each upgrade pod in seconds. Default (missing or negative): the controller's default, 900 unless configured; 0: no deadline; capped by the controller's maximum (7200 unless configured).
   */
  jobActiveDeadlineSecs?: number;
  nodeSelector?: LabelSelector;
  /**
   * ServiceAccount of the upgrade pods; part of the Plan hash. Default: the namespace's default ServiceAccount.
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
   * Secrets mounted into the upgrade pods; their contents are part of the Plan hash unless ignoreUpdates. Default: none.
   */
  secrets?: SecretSpec[];
  /**
   * Tolerations of the upgrade pods, as in a pod spec, so they can run on tainted nodes (control planes). Default: none besides node.kubernetes.io/unschedulable, which the controller always adds (it cordons the node). At most 100.
   *
   * @maxItems 100
   */
  tolerations?: Toleration[];
  /**
   * An upgrade pod of this Plan never shares a node with one of another exclusive Plan. Default: false.
   */
  exclusive?: boolean;
  window?: TimeWindowSpec;
  prepare?: ContainerSpec;
  upgrade: ContainerSpec;
  /**
   * Cordon the node before the upgrade (implied by drain). Default: false.
   */
  cordon?: boolean;
  drain?: DrainSpec;
  /**
   * Secrets (type kubernetes.io/dockerconfigjson) for pulling the prepare and upgrade images. Default: none.
   *
   * @maxItems 32
   */
  imagePullSecrets?: LocalObjectReference[];
  /**
   * Wait this long (Go duration such as 30s, 5m) after a node's upgrade before the next node takes its slot. Default: no delay.
   */
  postCompleteDelay?: string;
  /**
   * PriorityClass of the upgrade pods. Default: none (the cluster default).
   */
  priorityClassName?: string;
  /**
   * Labels set on a node when it is done; values may use $(LATEST_VERSION) and $(LATEST_HASH). Default: none.
   */
  postCompleteLabels?: {
    [k: string]: string | undefined;
  };
  order?: OrderSpec;
  /**
   * Names of Plans in the same namespace that must be Complete before this Plan starts a node. Default: none. At most 32.
   *
   * @maxItems 32
   */
  after?: string[];
  gates?: GatesSpec;
  failurePolicy?: FailurePolicy;
}
/**
 * A Kubernetes label selector: matchLabels and matchExpressions must all match.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "LabelSelector".
 */
export interface LabelSelector {
  /**
   * Labels that must be present with these values.
   */
  matchLabels?: {
    [k: string]: string | undefined;
  };
  /**
   * Requirements that must all hold.
   *
   * Items: A label requirement.
   */
  matchExpressions?: {
    /**
     * The label key.
     */
    key: string;
    /**
     * In and NotIn compare with values; Exists and DoesNotExist take no values. NotIn and DoesNotExist match nodes without the label.
     */
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    /**
     * The values for In and NotIn (at least one); empty for Exists and DoesNotExist.
     */
    values?: string[];
  }[];
}
/**
 * A Secret mounted into the upgrade pods.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "SecretSpec".
 */
export interface SecretSpec {
  /**
   * Name of a Secret in the Plan's namespace.
   */
  name: string;
  /**
   * Mount path; a relative path is under /run/system-upgrade/secrets.
   */
  path: string;
  /**
   * Mount the secret optional and leave its contents out of the Plan hash. Default: false.
   */
  ignoreUpdates?: boolean;
  /**
   * File mode of the mounted keys, 0 to 0777 (511). Default: 0644.
   */
  defaultMode?: number;
}
/**
 * A core/v1 Toleration.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "Toleration".
 */
export interface Toleration {
  /**
   * Taint key; empty with operator Exists tolerates every taint.
   */
  key?: string;
  /**
   * Exists or Equal. Default: Equal.
   */
  operator?: "Exists" | "Equal";
  /**
   * Taint value for Equal; empty for Exists.
   */
  value?: string;
  /**
   * NoSchedule, PreferNoSchedule or NoExecute. Default: every effect.
   */
  effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  /**
   * With NoExecute: how long the pod stays after the taint appears. Default: forever.
   */
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
  /**
   * Clock time the window closes, read like startTime; before startTime means the next day.
   */
  endTime?: string;
  /**
   * IANA zone such as Europe/Berlin. Default: UTC.
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
 * A container of the upgrade pod.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "ContainerSpec".
 */
export interface ContainerSpec {
  /**
   * Image; when it has no tag, status.latestVersion is used as the tag.
   */
  image: string;
  /**
   * Entrypoint, as in a pod's container. Default: the image's.
   */
  command?: string[];
  /**
   * Arguments, as in a pod's container. Default: the image's.
   */
  args?: string[];
  /**
   * Environment variables (SUC names the field envs). The controller adds SYSTEM_UPGRADE_* variables of its own.
   */
  envs?: EnvVar[];
  /**
   * ConfigMaps and Secrets whose keys become environment variables.
   */
  envFrom?: EnvFromSource[];
  /**
   * Host paths mounted into the container.
   */
  volumes?: VolumeSpec[];
  securityContext?: SecurityContext;
}
/**
 * An environment variable, as in a core/v1 container.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "EnvVar".
 */
export interface EnvVar {
  /**
   * Variable name.
   */
  name: string;
  /**
   * Literal value; set value or valueFrom, not both.
   */
  value?: string;
  /**
   * Read the value from a field of the pod, a resource of the container, a ConfigMap or a Secret (exactly one).
   */
  valueFrom?: {
    /**
     * A field of the pod, e.g. spec.nodeName.
     */
    fieldRef?: {
      /**
       * API version of fieldPath. Default: v1.
       */
      apiVersion?: string;
      /**
       * Path of the field, e.g. spec.nodeName or metadata.name.
       */
      fieldPath: string;
    };
    /**
     * A resource limit or request of a container, e.g. limits.memory.
     */
    resourceFieldRef?: {
      /**
       * Container whose resources are read. Default: this one.
       */
      containerName?: string;
      /**
       * limits.cpu, limits.memory, requests.cpu, requests.memory, ...
       */
      resource: string;
      /**
       * IntOrString: the unit the value is divided by (a quantity, e.g. 1Mi). Default: 1.
       */
      divisor?: number | string;
    };
    configMapKeyRef?: KeySelector;
    secretKeyRef?: KeySelector;
  };
}
/**
 * A key of a ConfigMap or Secret in the pod's namespace.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "KeySelector".
 */
export interface KeySelector {
  /**
   * Name of the ConfigMap or Secret.
   */
  name?: string;
  /**
   * The key.
   */
  key: string;
  /**
   * Start the container even if the object or key is missing. Default: false.
   */
  optional?: boolean;
}
/**
 * All keys of a ConfigMap or Secret as environment variables.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "EnvFromSource".
 */
export interface EnvFromSource {
  /**
   * Prepended to each variable name. Default: none.
   */
  prefix?: string;
  configMapRef?: OptionalReference;
  secretRef?: OptionalReference;
}
/**
 * A ConfigMap or Secret in the pod's namespace.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "OptionalReference".
 */
export interface OptionalReference {
  /**
   * Its name.
   */
  name?: string;
  /**
   * Start the container even if it is missing. Default: false.
   */
  optional?: boolean;
}
/**
 * A host path mounted into the container.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "VolumeSpec".
 */
export interface VolumeSpec {
  /**
   * Volume name: a DNS label, not host-root or pod-info (the controller adds those).
   */
  name: string;
  /**
   * Absolute path on the host.
   */
  source: string;
  /**
   * Absolute path in the container.
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
  /**
   * Whether a process can gain more privileges than its parent.
   */
  allowPrivilegeEscalation?: boolean;
  /**
   * AppArmor profile of the container.
   */
  appArmorProfile?: {
    /**
     * RuntimeDefault, Localhost or Unconfined.
     */
    type: string;
    /**
     * Profile name on the node, with type Localhost.
     */
    localhostProfile?: string;
  };
  /**
   * Linux capabilities to add and drop.
   */
  capabilities?: {
    /**
     * Capabilities to add, e.g. SYS_BOOT.
     */
    add?: string[];
    /**
     * Capabilities to drop, e.g. ALL.
     */
    drop?: string[];
  };
  /**
   * Run privileged (the upgrade container is, unless securityContext is set).
   */
  privileged?: boolean;
  /**
   * Default or Unmasked /proc.
   */
  procMount?: string;
  /**
   * Mount the container root filesystem read-only.
   */
  readOnlyRootFilesystem?: boolean;
  /**
   * GID of the container process.
   */
  runAsGroup?: number;
  /**
   * Refuse to start as UID 0.
   */
  runAsNonRoot?: boolean;
  /**
   * UID of the container process.
   */
  runAsUser?: number;
  /**
   * SELinux context of the container.
   */
  seLinuxOptions?: {
    /**
     * SELinux level.
     */
    level?: string;
    /**
     * SELinux role.
     */
    role?: string;
    /**
     * SELinux type.
     */
    type?: string;
    /**
     * SELinux user.
     */
    user?: string;
  };
  /**
   * Seccomp profile of the container.
   */
  seccompProfile?: {
    /**
     * RuntimeDefault, Localhost or Unconfined.
     */
    type: string;
    /**
     * Profile path on the node, with type Localhost.
     */
    localhostProfile?: string;
  };
  /**
   * Windows-specific options.
   */
  windowsOptions?: {
    /**
     * GMSA credential spec contents.
     */
    gmsaCredentialSpec?: string;
    /**
     * Name of the GMSACredentialSpec to use.
     */
    gmsaCredentialSpecName?: string;
    /**
     * Run as a Windows HostProcess container.
     */
    hostProcess?: boolean;
    /**
     * Windows user name of the process.
     */
    runAsUserName?: string;
  };
}
/**
 * Drain the node before the upgrade, as kubectl drain does.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "DrainSpec".
 */
export interface DrainSpec {
  /**
   * IntOrString: how long the drain may take: a Go duration string such as "15m", or an integer number of nanoseconds (as SUC writes it). Default: no limit.
   */
  timeout?: number | string;
  /**
   * Seconds each evicted pod gets to terminate; -1: each pod's own terminationGracePeriodSeconds. Default: -1.
   */
  gracePeriod?: number;
  /**
   * Old name of deleteEmptydirData; set one, not both. Default: false.
   */
  deleteLocalData?: boolean;
  /**
   * Drain pods with emptyDir volumes too (their data is lost). Default: false.
   */
  deleteEmptydirData?: boolean;
  /**
   * Leave DaemonSet pods (they would be recreated at once). Default: true, as kubectl drain's --ignore-daemonsets in SUC's drain.
   */
  ignoreDaemonSets?: boolean;
  /**
   * Also delete pods that no controller manages (they are not recreated). Default: false.
   */
  force?: boolean;
  /**
   * Delete pods instead of evicting them: PodDisruptionBudgets are not consulted. Default: false.
   */
  disableEviction?: boolean;
  /**
   * Seconds after which a pod whose deletionTimestamp is older is not waited for. Default: 0 (always wait).
   */
  skipWaitForDeleteTimeout?: number;
  podSelector?: LabelSelector;
  /**
   * After the drain timeout, delete the pods whose PodDisruptionBudget allows no disruption (instead of failing the node). Default: false.
   */
  unblockPDB?: boolean;
}
/**
 * A reference to an object in the same namespace.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "LocalObjectReference".
 */
export interface LocalObjectReference {
  /**
   * Name of the Secret.
   */
  name?: string;
}
/**
 * How eligible nodes are ranked. Default: control-plane nodes first, then by name.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "OrderSpec".
 */
export interface OrderSpec {
  /**
   * Upgrade control-plane nodes (label node-role.kubernetes.io/control-plane) before the others. Default: true.
   */
  controlPlaneFirst?: boolean;
  /**
   * Priority groups: nodes matching the first selector go first, and so on; unmatched nodes last. Within a group, by name. Default: none.
   */
  groups?: LabelSelector[];
}
/**
 * Conditions checked before each node starts (and, for health, after it). Default: no gate: nodes start as soon as the window, concurrency and after allow.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "GatesSpec".
 */
export interface GatesSpec {
  /**
   * Hold the rollout while Prometheus reports a firing alert (other than ignoreAlerts). Default: off.
   */
  prometheus?: {
    /**
     * Base URL of the Prometheus HTTP API, e.g. http://prometheus.monitoring:9090.
     */
    url: string;
    /**
     * Regular expression of alert names that do not hold the rollout. Default: none ignored.
     */
    ignoreAlerts?: string;
  };
  /**
   * After its upgrade pod succeeds, the node must come back Ready and stay healthy for soak before the next node starts. Default: off.
   */
  health?: {
    /**
     * Go duration the upgraded node and its pods must stay Ready before the next node starts. Default: 0s.
     */
    soak?: string;
    /**
     * Go duration after which a node that has not come back Ready fails. Default: no limit.
     */
    timeout?: string;
  };
  /**
   * Preflight: checked before the rollout starts and before each further node. Every node of the cluster must be Ready with no MemoryPressure, DiskPressure or PIDPressure, and no node's Ready condition may have changed within quietPeriod (a node that just rebooted defers the rollout). Nodes this Plan, or a Plan in spec.after, upgraded in its current rollout are exempt from the quiet period. Until it passes the Plan is Waiting and no new node starts. Default: off.
   */
  cluster?: {
    /**
     * Go duration: no node's Ready condition may have changed within it (the seed pipeline's 24h baseline). "0s" turns the check off. Default: 24h.
     */
    quietPeriod?: string;
    /**
     * Optional: at least this share of running pods (in podNamespaces, else the whole cluster) must be Ready, e.g. 0.9. Pods that cannot be read hold the rollout (fail safe). Default: not checked.
     */
    minReadyPodsRatio?: number;
    /**
     * Namespaces minReadyPodsRatio counts; absent or empty: every namespace. Default: every namespace.
     */
    podNamespaces?: string[];
  };
  /**
   * Postflight, for a Plan whose version is a Kubernetes release (plans/k8s-*.yaml): once the Plan is Complete, every node it selects must report status.latestVersion as its kubelet version, and (apiServer) so must the API server's /version. The result is the Verified condition; a mismatch is a Warning Event naming the nodes. A Plan without it (every SUC Plan) has no Verified condition. Default: off.
   */
  postflight?: {
    /**
     * Also compare the API server's /version gitVersion with the target. Default: true.
     */
    apiServer?: boolean;
  };
}
/**
 * What a failed node costs. Default: retries 2, backoff 30s (doubling), onExhausted halt.
 *
 * This interface was referenced by `Plan`'s JSON-Schema
 * via the `definition` "FailurePolicy".
 */
export interface FailurePolicy {
  /**
   * Extra attempts per node after the first failure. Default: 2.
   */
  retries?: number;
  /**
   * Go duration before the first retry; doubles each retry. Default: 30s.
   */
  backoff?: string;
  /**
   * halt: no further node starts until the Plan is edited; skip: record the failure and move on. Default: halt.
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
  /**
   * Validated, LatestResolved, Complete and the waiting and failure conditions, as Kubernetes conditions.
   */
  conditions?: {
    /**
     * Condition type, e.g. Complete.
     */
    type?: string;
    /**
     * True, False or Unknown.
     */
    status?: string;
    /**
     * When the condition was last written (RFC 3339).
     */
    lastUpdateTime?: string;
    /**
     * When status last changed (RFC 3339).
     */
    lastTransitionTime?: string;
    /**
     * One CamelCase word saying why.
     */
    reason?: string;
    /**
     * What a person needs to know, with the field or node it is about.
     */
    message?: string;
    [k: string]: unknown | undefined;
  }[];
  /**
   * The version being rolled out: spec.version with + replaced by -, or what the channel answered.
   */
  latestVersion?: string;
  /**
   * Hash of the Plan spec and its secrets; a node is done when its plan.upgrade.cattle.io/<plan> label holds it.
   */
  latestHash?: string;
  /**
   * Nodes being upgraded now.
   */
  applying?: string[];
  /**
   * One word for kubectl get: Applying, Complete, Held (waiting, nothing to do), Blocked (a person must act), Halted (stopped after failures), Waiting, Refused (the API server refuses, or would refuse, its pods: see the Refused condition), Invalid, Error, Unverified.
   */
  state?: string;
  /**
   * complete/selected, for kubectl get; disabled nodes count as selected and skipped.
   */
  progress?: string;
  /**
   * One line saying what the Plan is doing or waiting for.
   */
  message?: string;
  /**
   * One line for kubectl get -o wide: the first thing waited for and until when, and how many more.
   */
  waiting?: string;
  /**
   * Everything the Plan and its nodes wait for: reason, message, and until (RFC 3339) when a clock ends it.
   */
  waits?: {
    /**
     * The node that waits; absent when the whole Plan waits.
     */
    node?: string;
    /**
     * One CamelCase word, e.g. Soaking or Backoff.
     */
    reason?: string;
    /**
     * What is waited for.
     */
    message?: string;
    /**
     * When the wait ends (RFC 3339), when a clock ends it.
     */
    until?: string;
    [k: string]: unknown | undefined;
  }[];
  /**
   * The metadata.generation this status was computed from.
   */
  observedGeneration?: number;
  /**
   * How many selected nodes are in each state.
   */
  counts?: {
    /**
     * Nodes the Plan selects.
     */
    total?: number;
    /**
     * Nodes done at the current hash.
     */
    complete?: number;
    /**
     * Nodes being upgraded.
     */
    applying?: number;
    /**
     * Nodes whose attempts are exhausted.
     */
    failed?: number;
    /**
     * Nodes not started yet.
     */
    pending?: number;
    /**
     * Selected nodes labelled disabled: counted, not upgraded.
     */
    skipped?: number;
    [k: string]: unknown | undefined;
  };
  /**
   * Nodes that failed, with why.
   */
  failures?: {
    /**
     * The node.
     */
    node?: string;
    /**
     * One CamelCase word, e.g. Retrying.
     */
    reason?: string;
    /**
     * What went wrong, e.g. the exit code and the last log lines.
     */
    message?: string;
    /**
     * Attempts made.
     */
    attempts?: number;
    /**
     * The last upgrade pod.
     */
    pod?: string;
    /**
     * The Plan hash that failed.
     */
    hash?: string;
    [k: string]: unknown | undefined;
  }[];
  /**
   * Retries applied (the annotation plan-runner.dev/retry on the Plan, retry.plan-runner.dev/<plan> on a node): each token once.
   */
  retry?: {
    /**
     * The Plan-wide retry token last applied.
     */
    token?: string;
    /**
     * Per-node retry tokens applied.
     */
    nodes?: {
      /**
       * The node.
       */
      node?: string;
      /**
       * The Plan hash the retry was for.
       */
      hash?: string;
      /**
       * The attempt number the node restarted from.
       */
      attempt?: number;
      /**
       * Drains counted before the retry.
       */
      drains?: number;
      /**
       * The retry token last applied to this node.
       */
      token?: string;
      [k: string]: unknown | undefined;
    }[];
    [k: string]: unknown | undefined;
  };
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
