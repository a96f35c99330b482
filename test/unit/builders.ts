// Test builders: a valid, minimal object by default, and one method per thing a test cares about,
// so each test reads as the rule it checks (aPlan().withConcurrency(2), aNode("w1").asControlPlane()).
import type { ContainerSpec, LabelSelector, OrderSpec, Plan, PlanSpec, SecretSpec, Toleration } from "../../src/generated/plan.ts";
import type { NodeView, SecretView } from "../../src/controller/rollout/model.ts";
import { LABEL_CONTROL_PLANE, LABEL_HOSTNAME, LABEL_MASTER, labelPlanName } from "../../src/controller/rollout/keys.ts";

export class PlanBuilder {
  private readonly plan: Plan;

  constructor(name: string) {
    this.plan = {
      apiVersion: "upgrade.cattle.io/v1",
      kind: "Plan",
      metadata: { name, namespace: "system-upgrade" },
      // An empty selector selects every node; SUC's "no selector selects nothing" has withoutNodeSelector().
      spec: { concurrency: 1, version: "v1.30.4", nodeSelector: {}, upgrade: { image: "rancher/k3s-upgrade" } },
    };
  }

  with(change: (spec: PlanSpec, plan: Plan) => void): this {
    change(this.plan.spec, this.plan);
    return this;
  }
  named(name: string): this {
    return this.with((_, p) => (p.metadata.name = name));
  }
  /** Any spec fields, typed or not: validation tests build Plans the schema refuses. */
  withSpec(fields: Partial<PlanSpec> | Record<string, unknown>): this {
    return this.with((s) => Object.assign(s, fields));
  }
  withoutSpec(...keys: string[]): this {
    return this.with((s) => {
      for (const k of keys) Reflect.deleteProperty(s, k);
    });
  }
  withGeneration(n: number): this {
    return this.with((_, p) => (p.metadata["generation"] = n));
  }
  withConcurrency(n: number | undefined): this {
    return this.with((s) => (n === undefined ? delete s.concurrency : (s.concurrency = n)));
  }
  withNodeSelector(sel: LabelSelector): this {
    return this.with((s) => (s.nodeSelector = sel));
  }
  withoutNodeSelector(): this {
    return this.with((s) => delete s.nodeSelector);
  }
  withVersion(v: string): this {
    return this.with((s) => (s.version = v));
  }
  withServiceAccount(name: string): this {
    return this.with((s) => (s.serviceAccountName = name));
  }
  withSecrets(...secrets: SecretSpec[]): this {
    return this.with((s) => (s.secrets = secrets));
  }
  withUpgrade(c: Partial<ContainerSpec>): this {
    return this.with((s) => (s.upgrade = { ...s.upgrade, ...c }));
  }
  withPrepare(c: ContainerSpec): this {
    return this.with((s) => (s.prepare = c));
  }
  withTolerations(...t: Toleration[]): this {
    return this.with((s) => (s.tolerations = t));
  }
  withOrder(o: OrderSpec): this {
    return this.with((s) => (s.order = o));
  }
  exclusive(): this {
    return this.with((s) => (s.exclusive = true));
  }
  withDeadline(secs: number | undefined): this {
    return this.with((s) => (secs === undefined ? delete s.jobActiveDeadlineSecs : (s.jobActiveDeadlineSecs = secs)));
  }
  withLabels(labels: Record<string, string>): this {
    return this.with((_, p) => (p.metadata.labels = { ...p.metadata.labels, ...labels }));
  }
  withAnnotations(annotations: Record<string, string>): this {
    return this.with((_, p) => (p.metadata.annotations = { ...p.metadata.annotations, ...annotations }));
  }
  withUid(uid: string): this {
    return this.with((_, p) => (p.metadata["uid"] = uid));
  }
  inNamespace(ns: string | undefined): this {
    return this.with((_, p) => (ns === undefined ? delete p.metadata.namespace : (p.metadata.namespace = ns)));
  }
  build(): Plan {
    return structuredClone(this.plan);
  }
}

export const aPlan = (name = "upgrade"): PlanBuilder => new PlanBuilder(name);

export class NodeBuilder {
  private labels: Record<string, string>;
  private uid: string;
  private ready = true;
  private unschedulable = false;

  constructor(private readonly name: string) {
    this.labels = { [LABEL_HOSTNAME]: name, "kubernetes.io/os": "linux" };
    this.uid = `uid-${name}`;
  }

  withLabel(key: string, value = ""): this {
    this.labels[key] = value;
    return this;
  }
  withoutLabel(key: string): this {
    delete this.labels[key];
    return this;
  }
  asControlPlane(): this {
    return this.withLabel(LABEL_CONTROL_PLANE);
  }
  asLegacyMaster(): this {
    return this.withLabel(LABEL_MASTER);
  }
  /** plan.upgrade.cattle.io/<plan>=<value>: a hash (done at that hash) or "disabled". */
  withPlanLabel(plan: string, value: string): this {
    return this.withLabel(labelPlanName(plan), value);
  }
  withoutHostname(): this {
    return this.withoutLabel(LABEL_HOSTNAME);
  }
  withUid(uid: string): this {
    this.uid = uid;
    return this;
  }
  notReady(): this {
    this.ready = false;
    return this;
  }
  cordoned(): this {
    this.unschedulable = true;
    return this;
  }
  build(): NodeView {
    return { name: this.name, uid: this.uid, labels: { ...this.labels }, annotations: {}, unschedulable: this.unschedulable, ready: this.ready };
  }
}

export const aNode = (name: string): NodeBuilder => new NodeBuilder(name);

/** Built nodes from builders or names. */
export const nodes = (...items: Array<string | NodeBuilder>): NodeView[] => items.map((i) => (typeof i === "string" ? aNode(i) : i).build());

/** A Secret as the API returns it; `data` given in plain text and stored base64 like the API does. */
export function aSecret(name: string, data?: Record<string, string>, type = "Opaque"): SecretView {
  return {
    name,
    type,
    data: data === undefined ? undefined : Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")])),
  };
}

export const names = (xs: readonly { name: string }[]): string[] => xs.map((x) => x.name);
