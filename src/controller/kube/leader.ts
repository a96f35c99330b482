import type { Lease } from "../rollout/objects.ts";
import { type Kube, KubeError, resources } from "./ports.ts";

export interface LeaderOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs: number;
  /** How long a successful renewal lets this process act; strictly shorter than the lease. */
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  /** Wall clock, for the times written into the Lease. Default Date.now. */
  readonly now?: () => number;
  /** Monotonic clock for every duration this process judges itself. Default performance.now. */
  readonly monotonic?: () => number;
  readonly log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** Why leader options cannot work, or undefined. A renew deadline not inside the lease would let two replicas act at once. */
export function leaderOptionsProblem(o: Pick<LeaderOptions, "leaseDurationMs" | "renewDeadlineMs" | "retryPeriodMs">): string | undefined {
  if (o.renewDeadlineMs <= 0) return "the renew deadline must be positive";
  if (o.renewDeadlineMs >= o.leaseDurationMs)
    return `the renew deadline (${o.renewDeadlineMs}ms) must be shorter than the lease duration (${o.leaseDurationMs}ms)`;
  if (o.retryPeriodMs <= 0 || o.retryPeriodMs >= o.renewDeadlineMs)
    return `the retry period (${o.retryPeriodMs}ms) must be positive and shorter than the renew deadline (${o.renewDeadlineMs}ms)`;
  return undefined;
}

/**
 * Leader election on a coordination.k8s.io Lease, so two replicas never act at once.
 *
 * Another replica takes the lease once it has seen the record unchanged for the lease duration
 * by its own clock (the client-go rule: no clock is compared across machines). Our side of that
 * bargain is `mayAct()`: a renewal lets this process act until renewDeadline after the moment
 * its request was *sent* (the server wrote it no earlier, the others saw it no earlier), on the
 * monotonic clock, so a process that was paused, starved or cut off stops acting before anyone
 * else can start. The gap between the two durations covers a write already on the wire.
 *
 * Losing the lease is not the end: `run` campaigns again, and calls onLead for each new term.
 */
export class LeaderElector {
  private observed: { record: string; at: number } | undefined;
  private leading = false;
  /** Monotonic time until which this process may act (0: never). */
  private actUntil = 0;
  private stopped = false;
  private wake: (() => void) | undefined;
  /** The holder we last said we wait for: a standby says so once per holder, not every retry period. */
  private waitingFor: string | undefined;

  constructor(
    private readonly kube: Kube,
    private readonly opts: LeaderOptions,
  ) {
    const problem = leaderOptionsProblem(opts);
    if (problem !== undefined) throw new Error(`leader election: ${problem}`);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** True while the last successful renewal still covers us: checked before every write. */
  mayAct(): boolean {
    return this.leading && this.mono() < this.actUntil;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private mono(): number {
    return (this.opts.monotonic ?? (() => performance.now()))();
  }

  /** Campaigns, leads, and after a loss campaigns again, until stop(). */
  async run(onLead: () => void, onLost: (why: string) => void): Promise<void> {
    while (!this.stopped) {
      await this.campaign();
      if (this.stopped) break;
      this.opts.log?.("became leader", { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity });
      onLead();
      const why = await this.holdOn();
      if (this.stopped) break;
      this.leading = false;
      this.actUntil = 0;
      this.waitingFor = undefined; // the standby line is said again for this wait
      onLost(why);
    }
  }

  private async campaign(): Promise<void> {
    while (!this.stopped) {
      const sent = this.mono();
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        this.actUntil = sent + this.opts.renewDeadlineMs;
        if (this.mayAct()) return;
        // The answer came back after the deadline it bought: not a term worth starting.
        this.leading = false;
      }
      await this.pause(this.opts.retryPeriodMs);
    }
  }

  /** Renews every retry period; resolves with the reason once the renew deadline passes without a renewal. */
  private async holdOn(): Promise<string> {
    while (!this.stopped) {
      await this.pause(Math.min(this.opts.retryPeriodMs, Math.max(0, this.actUntil - this.mono())));
      if (this.stopped) break;
      if (!this.mayAct()) return "could not renew the lease within the renew deadline";
      const sent = this.mono();
      const renewed = await this.within(this.actUntil - sent, this.tryAcquireOrRenew());
      if (renewed === "taken") return "another replica holds the lease";
      if (renewed === true && sent + this.opts.renewDeadlineMs > this.actUntil) this.actUntil = sent + this.opts.renewDeadlineMs;
      if (!this.mayAct()) return "could not renew the lease within the renew deadline";
    }
    return "stopped";
  }

  /** The attempt's answer, or false when the deadline comes first (a hung request must not keep us leading). */
  private within<T>(ms: number, attempt: Promise<T>): Promise<T | false> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<false>((r) => (timer = setTimeout(() => r(false), Math.max(0, ms))));
    return Promise.race([attempt, deadline]).finally(() => clearTimeout(timer));
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
    const held = this.mayAct();
    this.leading = false;
    this.actUntil = 0;
    if (!held) return;
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

  /** true: the lease is ours; false: not now; "taken": another replica holds it while we thought we led. */
  private async tryAcquireOrRenew(): Promise<boolean | "taken"> {
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
    if (this.observed?.record !== record) this.observed = { record, at: this.mono() };
    const holder = spec.holderIdentity ?? "";
    const mine = holder === this.opts.identity;
    const expired = this.mono() > this.observed.at + (spec.leaseDurationSeconds ?? durationS) * 1000;
    if (!mine && holder !== "" && !expired) {
      if (this.leading) return "taken";
      if (holder !== this.waitingFor) {
        this.waitingFor = holder;
        this.opts.log?.("standby: waiting for the lease", { lease: `${this.opts.namespace}/${this.opts.name}`, holder, identity: this.opts.identity });
      }
      return false;
    }
    if (!mine && this.leading) return "taken"; // someone else's record, even an expired or empty one, ends our term
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
