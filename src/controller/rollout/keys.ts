// Every label and annotation key the controller reads or writes, in one place, so the whole
// vocabulary a user sees on nodes and pods can be read here. Keys that carry a Plan's name are
// builders named as the key they build (as SUC's LabelPlanName does).

/** Set by the kubelet; SUC requires it of every node it upgrades. */
export const LABEL_HOSTNAME = "kubernetes.io/hostname";
export const LABEL_CONTROL_PLANE = "node-role.kubernetes.io/control-plane";
/** Clusters older than Kubernetes 1.24 (and some distributions still) mark control planes only so. */
export const LABEL_MASTER = "node-role.kubernetes.io/master";
/** Static pods' mirrors: a drain never touches them. */
export const ANNOTATION_MIRROR_POD = "kubernetes.io/config.mirror";

/** `plan.upgrade.cattle.io/<plan>`: the hash a node was last upgraded to under this Plan, or `disabled`. */
export const labelPlanName = (plan: string): string => `plan.upgrade.cattle.io/${plan}`;
/** The value of the per-Plan node label that opts a node out. */
export const DISABLED = "disabled";

/**
 * Set when this Plan cordoned the node: only such nodes are uncordoned by it (SUC #341), and only
 * once no other Plan's mark (this or the drain's) is left on it. The value is the hash it cordoned
 * for, or `shared` when another Plan that cordoned it left it to this one (node-patches.ts).
 */
export const annotationCordonedBy = (plan: string): string => `${CORDONED_BY_PREFIX}${plan}`;
export const CORDONED_BY_PREFIX = "cordoned.plan-runner.dev/";
/** The cordon mark of a Plan that did not cordon the node itself but was left the cordon by one that did. */
export const CORDON_SHARED = "shared";
/** When this Plan's drain of the node started (RFC 3339), for drain.timeout. */
export const annotationDrainStarted = (plan: string): string => `${DRAIN_STARTED_PREFIX}${plan}`;
export const DRAIN_STARTED_PREFIX = "drain.plan-runner.dev/";
/** `<hash>/<failures>`: drains of this node for this hash that failed (refused or timed out). */
export const annotationDrainFailed = (plan: string): string => `drain-failed.plan-runner.dev/${plan}`;

/**
 * On a Plan, added before it touches a node: a Plan deleted while no replica leads stays
 * (deletionTimestamp set) until a leader has released its nodes and removed this.
 */
export const FINALIZER_RELEASE_NODES = "plan-runner.dev/release-nodes";

/** On a Plan: the paths whose values SUC adds to the hash. */
export const ANNOTATION_DIGEST = "upgrade.cattle.io/digest";

// What ties an upgrade pod to its controller, Plan, node, hash, role and attempt.
export const LABEL_CONTROLLER = "upgrade.cattle.io/controller";
export const LABEL_PLAN = "upgrade.cattle.io/plan";
export const LABEL_NODE = "upgrade.cattle.io/node";
export const LABEL_VERSION = "upgrade.cattle.io/version";
export const LABEL_EXCLUSIVE = "upgrade.cattle.io/exclusive";
export const LABEL_HASH = "plan-runner.dev/hash";
export const LABEL_ROLE = "plan-runner.dev/role";
export const ANNOTATION_ATTEMPT = "plan-runner.dev/attempt";
export const ANNOTATION_GENERATION = "plan-runner.dev/plan-generation";
export const ANNOTATION_TTL = "upgrade.cattle.io/ttl-seconds-after-finished";

/** On a Plan: any new value retries every node that failed for good, once (`plan-runner retry PLAN`). */
export const ANNOTATION_RETRY = "plan-runner.dev/retry";
/** On a node, `retry.plan-runner.dev/<plan>`: any new value retries that node under that Plan, once. */
export const annotationRetry = (plan: string): string => `retry.plan-runner.dev/${plan}`;
