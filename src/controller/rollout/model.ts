import type { Node } from "./objects.ts";

/**
 * The observed world as the pure decision code sees it: small, read-only projections of Nodes,
 * Pods and Secrets, and the Pod manifest the renderer produces. The adapter builds these from
 * API objects; nothing here knows about the API client, so 100,000 of them stay cheap.
 */

export type StringMap = Readonly<Record<string, string>>;

export interface NodeView {
  readonly name: string;
  readonly uid: string;
  readonly labels: StringMap;
  readonly annotations: StringMap;
  /** spec.unschedulable: cordoned. */
  readonly unschedulable: boolean;
  /** The Ready condition is True. */
  readonly ready: boolean;
  readonly kubeletVersion?: string;
  readonly createdAt?: number;
}

/** What the Plan hash needs of a Secret: exactly the fields kubectl's SecretHash reads. */
export interface SecretView {
  readonly name: string;
  /** Empty when the API object has no type (Go's zero value). */
  readonly type: string;
  /** Base64 values as the API returns them; undefined when the object has no data. */
  readonly data: StringMap | undefined;
  readonly immutable?: boolean;
}

// The Pod manifest the controller creates: only the fields it sets, spelled as the API spells them.
// Type aliases, not interfaces, so a manifest is assignable to the adapter's open Pod type.

export type OwnerReferenceManifest = {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
  blockOwnerDeletion: boolean;
};

export type FieldRef = {
  apiVersion?: string;
  fieldPath: string;
};

export type EnvVarManifest = {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: FieldRef;
    resourceFieldRef?: { containerName?: string; resource: string; divisor?: number | string };
    configMapKeyRef?: { name?: string; key: string; optional?: boolean };
    secretKeyRef?: { name?: string; key: string; optional?: boolean };
  };
};

export type VolumeMountManifest = {
  name: string;
  mountPath: string;
  readOnly?: boolean;
};

export type VolumeManifest = {
  name: string;
  hostPath?: { path: string; type?: string };
  downwardAPI?: { defaultMode?: number; items: Array<{ path: string; fieldRef: FieldRef }> };
  secret?: { secretName: string; defaultMode?: number; optional?: boolean };
};

export type ContainerManifest = {
  name: string;
  image: string;
  imagePullPolicy: string;
  command?: string[];
  args?: string[];
  env: EnvVarManifest[];
  envFrom?: Array<{ prefix?: string; configMapRef?: { name?: string; optional?: boolean }; secretRef?: { name?: string; optional?: boolean } }>;
  volumeMounts: VolumeMountManifest[];
  securityContext?: Record<string, unknown>;
};

export type TolerationManifest = {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
};

export type PodManifest = {
  apiVersion: "v1";
  kind: "Pod";
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    ownerReferences?: OwnerReferenceManifest[];
  };
  spec: {
    nodeName: string;
    hostIPC: true;
    hostPID: true;
    hostNetwork: true;
    dnsPolicy: "ClusterFirstWithHostNet";
    restartPolicy: "Never";
    serviceAccountName?: string;
    priorityClassName?: string;
    activeDeadlineSeconds?: number;
    imagePullSecrets?: Array<{ name?: string }>;
    tolerations: TolerationManifest[];
    volumes: VolumeManifest[];
    containers: ContainerManifest[];
  };
};

/** The view of an API Node (as the adapter or `kubectl get nodes -o yaml` gives it). */
export function toNodeView(node: Node): NodeView {
  const ready = node.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
  const created = node.metadata.creationTimestamp === undefined ? Number.NaN : Date.parse(node.metadata.creationTimestamp);
  const kubelet = node.status?.nodeInfo?.kubeletVersion;
  return {
    name: node.metadata.name,
    uid: node.metadata.uid ?? "",
    labels: node.metadata.labels ?? {},
    annotations: node.metadata.annotations ?? {},
    unschedulable: node.spec?.unschedulable === true,
    ready,
    ...(kubelet === undefined ? {} : { kubeletVersion: kubelet }),
    ...(Number.isNaN(created) ? {} : { createdAt: created }),
  };
}
