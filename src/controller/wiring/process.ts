import { createServer, type Server } from "node:http";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { Informer } from "../kube/informer.ts";
import type { Node, Pod, Secret } from "../rollout/objects.ts";
import { LeaderElector } from "../kube/leader.ts";
import { FencedKube, NotLeaderError } from "../kube/fence.ts";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { LABEL_CONTROLLER, LABEL_PLAN } from "../rollout/keys.ts";
import { changesFacts } from "../rollout/node-facts.ts";
import { slimNode, slimPod } from "../rollout/slim.ts";
import { httpAlerts } from "../kube/alerts.ts";
import { httpChannel } from "../kube/channel.ts";
import { type AlertsPort, type ChannelPort, type Kube, KubeError, type ServerVersionPort, resources } from "../kube/ports.ts";
import { KubeAdapter } from "../kube/adapter.ts";
import type { RateLimit } from "../kube/rate-limit.ts";
import { type PlanObject, Reconciler, type ReconcilerConfig } from "./reconciler.ts";
import { WorkQueue } from "../kube/work-queue.ts";
import { Webhook } from "../kube/webhook.ts";

export interface ControllerConfig extends ReconcilerConfig {
  readonly workers: number;
  /** The client-side limit on API requests (--kube-api-qps, --kube-api-burst). */
  readonly apiRateLimit: RateLimit;
  readonly relistMs: number;
  readonly leaderElection: boolean;
  readonly leaseName: string;
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  /** host:port for /metrics, /healthz and /readyz; undefined disables the server. */
  readonly metricsAddress: string | undefined;
  readonly identity: string;
  /** Name of the Secret (its key `url`) of the notification webhook; undefined: none. */
  readonly notifySecret: string | undefined;
  readonly notifyTimeoutMs: number;
  readonly notifyRetries: number;
  readonly notifyBackoffMs: number;
  readonly notifyQueueSize: number;
}

const LISTEN_WHY: Readonly<Record<string, string>> = {
  EADDRINUSE: "the address is already in use (another process listens there)",
  EACCES: "permission denied (a port below 1024 needs privileges)",
  EADDRNOTAVAIL: "the host is not an address of this machine",
  ENOTFOUND: "the host name does not resolve",
};

/** The metrics server could not listen: a start-up error the command reports in one line, no stack. */
export class ListenError extends Error {
  readonly why: string;
  constructor(
    readonly address: string,
    readonly code: string | undefined,
  ) {
    const why = LISTEN_WHY[code ?? ""] ?? code ?? "unknown error";
    super(`cannot listen on ${address}: ${why}`);
    this.why = why;
  }
}

export const defaultIdentity = (): string => `${process.env["POD_NAME"] ?? hostname()}_${randomBytes(4).toString("hex")}`;

export interface ControllerDeps {
  readonly kube: Kube;
  /** Default: over the network. */
  readonly channel?: ChannelPort;
  readonly alerts?: AlertsPort;
  /** Default: the kube adapter itself (GET /version). */
  readonly serverVersion?: ServerVersionPort;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly now?: () => number;
}

const electorFor = (d: ControllerDeps, config: ControllerConfig): LeaderElector =>
  new LeaderElector(d.kube, {
    namespace: config.namespace,
    name: config.leaseName,
    identity: config.identity,
    leaseDurationMs: config.leaseDurationMs,
    renewDeadlineMs: config.renewDeadlineMs,
    retryPeriodMs: config.retryPeriodMs,
    log: (m, f) => d.log.info(m, f),
  });

/**
 * Wires informers -> keyed queue -> reconciler, behind leader election. Informers run on every
 * replica (a standby has warm caches); only the leader reconciles and writes.
 */
export class Controller {
  private readonly plans: Informer<PlanObject>;
  private readonly nodes: Informer<Node>;
  private readonly pods: Informer<Pod>;
  private readonly secrets: Informer<Secret>;
  private readonly queue: WorkQueue;
  private readonly reconciler: Reconciler;
  private readonly elector: LeaderElector | undefined;
  private readonly webhook: Webhook | undefined;
  private server: Server | undefined;
  private leading = false;
  /** Counts terms, so a term that ended while it was starting never begins. */
  private term = 0;
  private clusterId: string | undefined;

  constructor(
    private readonly d: ControllerDeps,
    private readonly config: ControllerConfig,
  ) {
    const { log } = d;
    const elector = config.leaderElection ? electorFor(d, config) : undefined;
    this.elector = elector;
    // Every write but the elector's own goes through the fence.
    const kube = elector === undefined ? d.kube : new FencedKube(d.kube, () => elector.mayAct());
    const informerLog = (msg: string, fields?: Record<string, unknown>): void => log.warn(msg, fields);
    this.plans = new Informer(kube, { resource: resources.plans, namespace: config.namespace, relistMs: config.relistMs, log: informerLog });
    this.nodes = new Informer<Node>(kube, { resource: resources.nodes, relistMs: config.relistMs, log: informerLog, slim: slimNode });
    this.pods = new Informer(kube, {
      resource: resources.pods,
      namespace: config.namespace,
      labelSelector: `${LABEL_CONTROLLER}=${config.controllerName}`,
      relistMs: config.relistMs,
      log: informerLog,
      slim: slimPod,
    });
    this.secrets = new Informer(kube, { resource: resources.secrets, namespace: config.namespace, relistMs: config.relistMs, log: informerLog });
    this.webhook = config.notifySecret === undefined ? undefined : this.notifier(config.notifySecret);
    const webhook = this.webhook;
    this.reconciler = new Reconciler({
      kube,
      channel: d.channel ?? httpChannel,
      alerts: d.alerts ?? httpAlerts,
      // The adapter under the fence: GET /version is a read, and the fence does not carry it.
      serverVersion: d.serverVersion ?? (d.kube instanceof KubeAdapter ? d.kube : undefined),
      plans: this.plans,
      nodes: this.nodes,
      pods: this.pods,
      secrets: this.secrets,
      metrics: d.metrics,
      log,
      now: d.now ?? Date.now,
      config,
      clusterId: () => this.clusterId,
      ...(webhook !== undefined ? { notify: (plan: string, text: string) => webhook.enqueue(plan, text) } : {}),
      requeue: (keys) => {
        if (this.leading) for (const k of keys) this.queue.add(k);
      },
    });
    this.queue = new WorkQueue(
      async (key) => {
        if (!this.leading) return {}; // the next term queues every Plan again
        return this.plans.get(key)?.spec?.exclusive === true ? this.exclusively(() => this.reconciler.reconcile(key)) : this.reconciler.reconcile(key);
      },
      { concurrency: config.workers },
      (key, e) => {
        if (e instanceof NotLeaderError) {
          log.warn("write refused: this replica no longer holds the lease", { plan: key, call: e.call });
          return;
        }
        const kind = e instanceof KubeError ? (e.retryable ? `api_${e.status}` : `api_terminal_${e.status}`) : "internal";
        d.metrics.reconcileErrors.inc({ kind });
        log.error("reconcile failed; will retry", { plan: key, kind, error: e instanceof Error ? e.message : String(e) });
      },
    );
    this.wire();
  }

  /** The URL is read from the Secret's cache at each send, so rotating it needs no restart; only its name is ever logged. */
  private notifier(secret: string): Webhook {
    const { config } = this;
    const { metrics, log } = this.d;
    const where = `${config.namespace}/${secret}`;
    return new Webhook({
      url: () => {
        const encoded = this.secrets.get(where)?.data?.["url"];
        return encoded === undefined ? undefined : Buffer.from(encoded, "base64").toString("utf8").trim();
      },
      timeoutMs: config.notifyTimeoutMs,
      retries: config.notifyRetries,
      backoffMs: config.notifyBackoffMs,
      queueSize: config.notifyQueueSize,
      onResult: (result, { plan }) => {
        if (result === "sent") {
          metrics.notificationsSent.inc();
          return;
        }
        metrics.notificationFailures.inc({ kind: result });
        const why = result === "no_secret" ? `secret ${where} has no key url` : result === "bad_url" ? `secret ${where} key url is not an http(s) URL` : result;
        log.warn("notification not delivered", { plan, kind: result, why });
      },
    });
  }

  private exclusiveTail: Promise<unknown> = Promise.resolve();

  /**
   * Exclusive Plans reconcile one at a time: each must see the pods and cordons the others
   * just made (the write-through caches make that so), or two could start on one node.
   */
  private exclusively<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.exclusiveTail.then(fn, fn);
    this.exclusiveTail = run.catch(() => undefined);
    return run;
  }

  private enqueueAll(): void {
    if (!this.leading) return;
    for (const p of this.plans.list()) this.queue.add(`${this.config.namespace}/${p.metadata.name}`);
  }

  private wire(): void {
    const ns = this.config.namespace;
    const add = (name: string): void => {
      if (this.leading) this.queue.add(`${ns}/${name}`);
    };
    this.plans.onChange((p, type) => {
      add(p.metadata.name);
      // Plans that wait on this one (spec.after) or share nodes with it (exclusive) may now move.
      for (const other of this.plans.list()) {
        if (other.metadata.name === p.metadata.name) continue;
        if (other.spec?.after?.includes(p.metadata.name) === true || (other.spec?.exclusive === true && p.spec?.exclusive === true)) add(other.metadata.name);
      }
      if (type === "DELETED") add(p.metadata.name);
    });
    this.pods.onChange((pod) => {
      const plan = pod.metadata.labels?.[LABEL_PLAN];
      if (plan !== undefined) add(plan);
    });
    // Any change a Plan could read wakes every Plan (a label may select a node for another one);
    // a heartbeat does not. An echo of our own write (the resourceVersion cached already) does.
    this.nodes.onChange((node, type, before) => {
      const heartbeat =
        type === "MODIFIED" && before !== undefined && before.metadata.resourceVersion !== node.metadata.resourceVersion && !changesFacts(before, node);
      if (!heartbeat) this.enqueueAll();
    });
    this.secrets.onChange((s) => {
      for (const p of this.plans.list()) if (p.spec?.secrets?.some((x) => x.name === s.metadata.name) === true) add(p.metadata.name);
    });
  }

  async start(): Promise<void> {
    if (this.config.metricsAddress !== undefined) await this.serve(this.config.metricsAddress);
    for (const i of [this.plans, this.nodes, this.pods, this.secrets]) i.start();
    await Promise.all([this.plans, this.nodes, this.pods, this.secrets].map((i) => i.waitForSync()));
    try {
      const ks = await this.d.kube.get(resources.namespaces, undefined, "kube-system");
      this.clusterId = ks.metadata.uid;
    } catch {
      // only sent to channels as SUC does; not needed to work
    }
    this.d.log.info("caches synced", { plans: this.plans.list().length, nodes: this.nodes.list().length, pods: this.pods.list().length });
    if (this.elector === undefined) this.beginTerm(++this.term);
    else
      void this.elector.run(
        () => void this.startTerm(++this.term),
        (why) => {
          this.term++;
          this.leading = false;
          this.d.metrics.leader.set(0);
          this.reconciler.forget(); // what waits in the batch is not this replica's to write any more
          this.d.log.error("lost leadership; standing by for the lease", { why });
        },
      );
  }

  /**
   * A term starts from the cluster as it is now: the other replica may have moved every Plan on
   * while this one was paused or cut off, so the caches are relisted and the reconciler's
   * readings dropped before the first reconcile.
   */
  private async startTerm(term: number): Promise<void> {
    await Promise.all([this.plans, this.nodes, this.pods, this.secrets].map((i) => i.resync()));
    this.reconciler.forget();
    if (term === this.term) this.beginTerm(term);
  }

  private beginTerm(term: number): void {
    if (term !== this.term) return;
    this.leading = true;
    this.d.metrics.leader.set(1);
    this.enqueueAll();
  }

  get isLeader(): boolean {
    return this.leading;
  }

  private serve(address: string): Promise<void> {
    const i = address.lastIndexOf(":");
    const host = i > 0 ? address.slice(0, i) : "0.0.0.0";
    const port = Number(address.slice(i + 1));
    this.server = createServer((req, res) => {
      if (req.url === "/metrics") {
        this.d.metrics.registry.metrics().then(
          (text) => {
            res.writeHead(200, { "Content-Type": this.d.metrics.registry.contentType });
            res.end(text);
          },
          () => {
            res.writeHead(500);
            res.end();
          },
        );
        return;
      }
      const synced = [this.plans, this.nodes, this.pods, this.secrets].every((x) => x.hasSynced);
      if (req.url === "/healthz") {
        res.writeHead(200);
        res.end("ok");
        return;
      }
      if (req.url === "/readyz") {
        res.writeHead(synced ? 200 : 503);
        res.end(synced ? "ok" : "caches not synced");
        return;
      }
      res.writeHead(404);
      res.end();
    });
    return new Promise((resolve, reject) => {
      this.server!.once("error", (e: NodeJS.ErrnoException) => reject(new ListenError(address, e.code)));
      this.server!.listen(port, host === "" ? undefined : host, () => resolve());
    });
  }

  /** SIGTERM: stop taking work, let running reconciles finish, give the lease up. */
  async stop(): Promise<void> {
    this.term++;
    this.leading = false;
    await this.queue.shutdown();
    await this.reconciler.flush(); // the Events in the batch, while the lease is still ours
    this.reconciler.forget(); // gives up the channel requests under way
    await this.webhook?.stop();
    await this.elector?.stop();
    await Promise.all([this.plans, this.nodes, this.pods, this.secrets].map((i) => i.stop()));
    await new Promise<void>((r) => (this.server === undefined ? r() : this.server.close(() => r())));
  }
}
