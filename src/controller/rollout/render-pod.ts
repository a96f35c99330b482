// The prepare and apply pods of one node (docs/architecture.md, "A node's life"), built as SUC builds its job's pod
// (pkg/upgrade/job New, pkg/upgrade/container New and options) so a SUC Plan's payload finds
// the same host, mounts and environment. Differences, on purpose: a bare Pod pinned with
// spec.nodeName instead of a Job with node affinity (the controller owns retries and the
// concurrency slot, SUC #134); prepare is its own pod whose exit code is read; cordon and drain
// are done by the controller, not by kubectl init containers.
import { posix } from "node:path";
import type { ContainerSpec, Plan, SecretSpec } from "../../generated/plan.ts";
import type { ContainerManifest, EnvVarManifest, NodeView, PodManifest, VolumeManifest, VolumeMountManifest } from "./model.ts";
import { type PodStep, labelSafeValue, podName, safeConcatName } from "./names.ts";
import {
  ANNOTATION_ATTEMPT,
  ANNOTATION_GENERATION,
  ANNOTATION_TTL,
  LABEL_CONTROLLER,
  LABEL_EXCLUSIVE,
  LABEL_HASH,
  LABEL_NODE,
  LABEL_PLAN,
  LABEL_ROLE,
  LABEL_VERSION,
  labelPlanName,
} from "./keys.ts";
import { imageWithLatestTag } from "./version.ts";

export const SECRETS_DIR = "/run/system-upgrade/secrets";
export const POD_INFO_DIR = "/run/system-upgrade/pod";
export const HOST_ROOT = "/host";

export interface RenderOptions {
  /** Value of upgrade.cattle.io/controller (SUC: the controller's name). */
  readonly controllerName: string;
  /** SYSTEM_UPGRADE_JOB_ACTIVE_DEADLINE_SECONDS (SUC default 600) and ..._MAX (0: no maximum). */
  readonly activeDeadline: DeadlineDefaults;
  /** SYSTEM_UPGRADE_JOB_IMAGE_PULL_POLICY; default IfNotPresent. */
  readonly imagePullPolicy?: string;
  /** SYSTEM_UPGRADE_JOB_PRIVILEGED for the default apply security context; default true. */
  readonly privileged?: boolean;
  /**
   * How long a finished pod is kept for `kubectl logs` (the controller's --pod-ttl). Required: a
   * fallback here (SUC's job TTL is 900) once let the dry run print 900 where the controller wrote 3600.
   */
  readonly ttlSecondsAfterFinished: number;
  /** Namespace when the Plan names none (a file given to the dry run). */
  readonly defaultNamespace?: string;
}

export interface RenderInput {
  readonly plan: Plan;
  readonly node: NodeView;
  readonly step: PodStep;
  readonly latestVersion: string;
  readonly latestHash: string;
  /** From 1; later attempts get a name suffix. */
  readonly attempt?: number;
  /** spec.postCompleteDelay, parsed; the pod must outlive it by a minute. */
  readonly postCompleteDelayMs?: number;
}

export interface DeadlineDefaults {
  readonly defaultSeconds: number;
  readonly maxSeconds: number;
}

/**
 * SUC's jobActiveDeadlineSecs: missing or negative takes the controller default, 0 means no
 * deadline, positive is used as is; a configured maximum (> 0) caps the value and replaces "none".
 */
export function activeDeadlineSeconds(planValue: number | undefined, d: DeadlineDefaults): number | undefined {
  let v: number | undefined = planValue === undefined || planValue < 0 ? d.defaultSeconds : planValue > 0 ? planValue : undefined;
  if (d.maxSeconds > 0 && (v === undefined || v > d.maxSeconds)) v = d.maxSeconds;
  return v;
}

/** Where a secret is mounted: `path` if absolute, else under /run/system-upgrade/secrets (`name` when no path). */
export function secretMountPath(secret: Pick<SecretSpec, "name" | "path">): string {
  const p = secret.path;
  if (p.startsWith("/")) return p;
  const joined = posix.join(SECRETS_DIR, p === "" ? secret.name : p);
  // Go's filepath.Join cleans, which also drops a trailing slash.
  return joined.length > 1 ? joined.replace(/\/+$/, "") : joined;
}

export const secretVolumeName = (secret: string): string => safeConcatName("secret", secret);

/** Plan metadata copied to the pod, as SUC copies it to its job: none of the *cattle.io/ keys. */
const copiedLabel = (key: string): boolean => !key.includes("cattle.io/");
const copiedAnnotation = (key: string): boolean => !key.includes("cattle.io/") && !key.includes("kubectl.kubernetes.io/");

const clone = <T>(v: T): T => structuredClone(v);

function pick(m: Readonly<Record<string, string | undefined>> | undefined, keep: (k: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) if (v !== undefined && keep(k)) out[k] = v;
  return out;
}

function fieldEnv(name: string, fieldPath: string): EnvVarManifest {
  return { name, valueFrom: { fieldRef: { fieldPath } } };
}

function container(name: string, spec: ContainerSpec, input: RenderInput, options: RenderOptions, securityContext: object | undefined): ContainerManifest {
  const { plan } = input;
  const env: EnvVarManifest[] = [
    fieldEnv("SYSTEM_UPGRADE_NODE_NAME", "spec.nodeName"),
    fieldEnv("SYSTEM_UPGRADE_POD_NAME", "metadata.name"),
    fieldEnv("SYSTEM_UPGRADE_POD_UID", "metadata.uid"),
    ...clone(spec.envs ?? []),
    { name: "SYSTEM_UPGRADE_PLAN_NAME", value: plan.metadata.name },
    { name: "SYSTEM_UPGRADE_PLAN_LATEST_HASH", value: input.latestHash },
    { name: "SYSTEM_UPGRADE_PLAN_LATEST_VERSION", value: input.latestVersion },
  ];
  const volumeMounts: VolumeMountManifest[] = [
    { name: "host-root", mountPath: HOST_ROOT },
    { name: "pod-info", mountPath: POD_INFO_DIR, readOnly: true },
    ...(plan.spec.secrets ?? []).map((s) => ({ name: secretVolumeName(s.name), mountPath: secretMountPath(s), readOnly: true })),
    ...(spec.volumes ?? []).map((v) => ({ name: v.name, mountPath: v.destination })),
  ];
  return {
    name,
    image: imageWithLatestTag(spec.image, input.latestVersion),
    imagePullPolicy: options.imagePullPolicy ?? "IfNotPresent",
    ...(spec.command === undefined ? {} : { command: [...spec.command] }),
    ...(spec.args === undefined ? {} : { args: [...spec.args] }),
    env,
    ...(spec.envFrom === undefined ? {} : { envFrom: clone(spec.envFrom) }),
    volumeMounts,
    ...(securityContext === undefined ? {} : { securityContext: clone(securityContext) as Record<string, unknown> }),
  };
}

/** The Plan's own labels (not SUC's), and the ones that tie the pod to its controller, Plan, node, hash and role. */
function podLabels(input: RenderInput, options: RenderOptions): Record<string, string> {
  const { plan, node, step } = input;
  const planName = plan.metadata.name;
  return {
    ...pick(plan.metadata.labels, copiedLabel),
    [LABEL_CONTROLLER]: options.controllerName,
    [LABEL_EXCLUSIVE]: String(plan.spec.exclusive === true),
    [LABEL_NODE]: labelSafeValue(node.name),
    [LABEL_PLAN]: planName,
    [LABEL_VERSION]: labelSafeValue(input.latestVersion),
    [labelPlanName(planName)]: input.latestHash,
    [LABEL_HASH]: input.latestHash,
    [LABEL_ROLE]: step,
  };
}

/** The TTL outlives postCompleteDelay by a minute, so the pod is still there when its node is labelled done. */
function podAnnotations(input: RenderInput, options: RenderOptions, attempt: number): Record<string, string> {
  const ttlFloor = input.postCompleteDelayMs === undefined ? 0 : Math.trunc((input.postCompleteDelayMs + 60_000) / 1000);
  const ttl = Math.max(options.ttlSecondsAfterFinished, ttlFloor);
  const generation = input.plan.metadata["generation"];
  return {
    ...pick(input.plan.metadata.annotations, copiedAnnotation),
    [ANNOTATION_TTL]: String(ttl),
    [ANNOTATION_ATTEMPT]: String(attempt),
    ...(typeof generation === "number" ? { [ANNOTATION_GENERATION]: String(generation) } : {}),
  };
}

/** The host's root, the pod's own labels and annotations, the Plan's secrets and the container's host paths. */
function podVolumes(secrets: readonly SecretSpec[], containerSpec: ContainerSpec): VolumeManifest[] {
  return [
    { name: "host-root", hostPath: { path: "/", type: "Directory" } },
    {
      name: "pod-info",
      downwardAPI: {
        defaultMode: 0o644,
        items: [
          { path: "labels", fieldRef: { fieldPath: "metadata.labels", apiVersion: "v1" } },
          { path: "annotations", fieldRef: { fieldPath: "metadata.annotations", apiVersion: "v1" } },
        ],
      },
    },
    ...secrets.map((s) => ({
      name: secretVolumeName(s.name),
      secret: { secretName: s.name, ...(s.defaultMode === undefined ? {} : { defaultMode: s.defaultMode }), optional: s.ignoreUpdates === true },
    })),
    ...(containerSpec.volumes ?? []).map((v) => ({ name: v.name, hostPath: { path: v.source } })),
  ];
}

/** The pod that runs `prepare` (step "prepare") or `upgrade` (step "apply") of `plan` on `node`. */
export function renderPod(input: RenderInput, options: RenderOptions): PodManifest {
  const { plan, node, step } = input;
  const spec = plan.spec;
  const attempt = input.attempt ?? 1;
  const planName = plan.metadata.name;
  const containerSpec = step === "prepare" ? spec.prepare : spec.upgrade;
  if (containerSpec === undefined) throw new Error(`plan ${planName} has no ${step === "prepare" ? "prepare" : "upgrade"} container`);

  // The upgrade container is privileged with CAP_SYS_BOOT (it may reboot the host) unless the Plan
  // says otherwise; prepare runs with only what the Plan gives it.
  const securityContext =
    step === "prepare"
      ? containerSpec.securityContext
      : (containerSpec.securityContext ?? { privileged: options.privileged ?? true, capabilities: { add: ["CAP_SYS_BOOT"] } });

  const labels = podLabels(input, options);
  const annotations = podAnnotations(input, options, attempt);
  const volumes = podVolumes(spec.secrets ?? [], containerSpec);
  const uid = plan.metadata["uid"];
  const deadline = activeDeadlineSeconds(spec.jobActiveDeadlineSecs, options.activeDeadline);

  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: podName(step, planName, node.name, input.latestHash, attempt),
      namespace: plan.metadata.namespace ?? options.defaultNamespace ?? "default",
      labels,
      annotations,
      // blockOwnerDeletion false: deleting a Plan must not wait on (or be blocked by) its pods' finalizers.
      ...(typeof uid === "string" && uid !== ""
        ? { ownerReferences: [{ apiVersion: "upgrade.cattle.io/v1", kind: "Plan", name: planName, uid, controller: true, blockOwnerDeletion: false }] }
        : {}),
    },
    spec: {
      nodeName: node.name,
      hostIPC: true,
      hostPID: true,
      hostNetwork: true,
      dnsPolicy: "ClusterFirstWithHostNet",
      restartPolicy: "Never",
      ...(spec.serviceAccountName === undefined || spec.serviceAccountName === "" ? {} : { serviceAccountName: spec.serviceAccountName }),
      ...(spec.priorityClassName === undefined || spec.priorityClassName === "" ? {} : { priorityClassName: spec.priorityClassName }),
      ...(deadline === undefined ? {} : { activeDeadlineSeconds: deadline }),
      ...(spec.imagePullSecrets === undefined ? {} : { imagePullSecrets: clone(spec.imagePullSecrets) }),
      // The unschedulable toleration lets the pod run on the node its own Plan cordoned.
      tolerations: [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" }, ...clone(spec.tolerations ?? [])],
      volumes,
      containers: [container(step === "prepare" ? "prepare" : "upgrade", containerSpec, input, options, securityContext)],
    },
  };
}
