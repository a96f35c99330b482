import type { Lease } from "../rollout/objects.ts";
import { type Kube, KubeError, resources } from "./ports.ts";

export interface LeaderOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly now?: () => number;
  readonly log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * Leader election on a coordination.k8s.io Lease, so two replicas never act at once.
 * Expiry is judged by when *we* last saw the lease change, not by the holder's clock
 * (the same rule as client-go), so clock skew between nodes cannot hand out two leases.
 * Losing the lease is final for this process: the caller exits and is restarted, which is
 * simpler to reason about than stopping every in-flight action.
 */
export class LeaderElector {
  private observed: { record: string; at: number } | undefined;
  private leading = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  /** The holder we last said we wait for: a standby says so once per holder, not every retry period. */
  private waitingFor: string | undefined;

  constructor(
    private readonly kube: Kube,
    private readonly opts: LeaderOptions,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Resolves when this process leads; then keeps renewing until `lost` is called or stop(). */
  async run(onLead: () => void, onLost: (why: string) => void): Promise<void> {
    while (!this.stopped && !this.leading) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        this.opts.log?.("became leader", { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity });
        onLead();
        break;
      }
      await this.pause(this.opts.retryPeriodMs);
    }
    let lastRenew = this.now();
    while (!this.stopped && this.leading) {
      await this.pause(this.opts.retryPeriodMs);
      if (this.stopped) break;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = this.now();
      } else if (this.now() - lastRenew > this.opts.renewDeadlineMs) {
        this.leading = false;
        onLost("could not renew the lease within the renew deadline");
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        r();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        r();
      };
    });
  }

  /** Gives the lease up (graceful shutdown) so the next replica need not wait for expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.kube.get<Lease>(resources.leases, this.opts.namespace, this.opts.name);
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      await this.kube.replace(resources.leases, this.opts.namespace, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1, renewTime: microTime(this.now()) },
      });
    } catch (e: unknown) {
      this.opts.log?.("could not release the lease", { error: e instanceof Error ? e.message : String(e) });
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const nowIso = microTime(this.now());
    const durationS = Math.ceil(this.opts.leaseDurationMs / 1000);
    let lease: Lease;
    try {
      lease = await this.kube.get<Lease>(resources.leases, this.opts.namespace, this.opts.name);
    } catch (e: unknown) {
      if (!(e instanceof KubeError && e.notFound)) return this.failed(e);
      try {
        await this.kube.create<Lease>(resources.leases, this.opts.namespace, {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: this.opts.name, namespace: this.opts.namespace },
          spec: { holderIdentity: this.opts.identity, leaseDurationSeconds: durationS, acquireTime: nowIso, renewTime: nowIso, leaseTransitions: 0 },
        });
        return true;
      } catch (e2: unknown) {
        return this.failed(e2);
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    if (this.observed?.record !== record) this.observed = { record, at: this.now() };
    const holder = spec.holderIdentity ?? "";
    const mine = holder === this.opts.identity;
    const expired = this.now() > this.observed.at + (spec.leaseDurationSeconds ?? durationS) * 1000;
    if (!mine && holder !== "" && !expired) {
      if (holder !== this.waitingFor) {
        this.waitingFor = holder;
        this.opts.log?.("standby: waiting for the lease", { lease: `${this.opts.namespace}/${this.opts.name}`, holder, identity: this.opts.identity });
      }
      return false;
    }
    try {
      await this.kube.replace<Lease>(resources.leases, this.opts.namespace, {
        ...lease,
        spec: {
          holderIdentity: this.opts.identity,
          leaseDurationSeconds: durationS,
          acquireTime: mine ? (spec.acquireTime ?? nowIso) : nowIso,
          renewTime: nowIso,
          leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
        },
      });
      return true;
    } catch (e: unknown) {
      return this.failed(e);
    }
  }

  private failed(e: unknown): false {
    if (!(e instanceof KubeError && e.conflict)) this.opts.log?.("lease request failed", { error: e instanceof Error ? e.message : String(e) });
    return false;
  }
}

/** A metav1.MicroTime: RFC 3339 with exactly six fractional digits. */
const microTime = (ms: number): string => new Date(ms).toISOString().replace("Z", "000Z");
