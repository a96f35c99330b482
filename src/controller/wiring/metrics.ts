import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { NODE_STATES, type NodeState, SLOT_STATES } from "../rollout/decision.ts";

/** The controller's Prometheus metrics, on a registry of its own so tests can run several controllers. */
export class Metrics {
  readonly registry = new Registry();
  readonly planNodes = new Gauge({
    name: "plan_runner_plan_nodes",
    help: "Nodes selected by a Plan, by state (complete, applying, soaking, backoff, pending, failed, held, blocked, skipped)",
    labelNames: ["plan", "state"] as const,
    registers: [this.registry],
  });
  readonly held = new Gauge({
    name: "plan_runner_plan_held",
    help: "1 while the Plan is Held: its prepare gate exited 4 or alerts fire (waiting, nothing to do; not an alert)",
    labelNames: ["plan"] as const,
    registers: [this.registry],
  });
  readonly blocked = new Gauge({
    name: "plan_runner_plan_blocked",
    help: "1 while the Plan is Blocked: its prepare gate asks for action or failed, or alerts cannot be read (alert on it)",
    labelNames: ["plan"] as const,
    registers: [this.registry],
  });
  readonly halted = new Gauge({
    name: "plan_runner_plan_halted",
    help: "1 while the Plan is Halted: a node failed for good (retry it with plan-runner retry)",
    labelNames: ["plan"] as const,
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: "plan_runner_plan_in_flight",
    help: "Nodes of the Plan being upgraded now",
    labelNames: ["plan"] as const,
    registers: [this.registry],
  });
  readonly startedTimestamp = new Gauge({
    name: "plan_runner_plan_started_timestamp_seconds",
    help: "When the current rollout of the Plan started (0 when idle): for the stall alert",
    labelNames: ["plan"] as const,
    registers: [this.registry],
  });
  readonly complete = new Gauge({
    name: "plan_runner_plan_complete",
    help: "1 when every selected node runs the Plan's latest hash",
    labelNames: ["plan"] as const,
    registers: [this.registry],
  });
  readonly versionMismatch = new Gauge({
    name: "plan_runner_plan_version_mismatch",
    help: "1 when a Complete Plan with gates.postflight finds a kubelet or the API server not at its version (Verified=False)",
    labelNames: ["plan"] as const,
    registers: [this.registry],
  });
  readonly nodeDuration = new Histogram({
    name: "plan_runner_node_upgrade_duration_seconds",
    help: "From a node's first pod to its done label",
    labelNames: ["plan"] as const,
    buckets: [5, 15, 30, 60, 120, 300, 600, 1200, 3600],
    registers: [this.registry],
  });
  readonly failures = new Counter({
    name: "plan_runner_node_failures_total",
    help: "Node upgrade failures by reason",
    labelNames: ["plan", "reason"] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: "plan_runner_reconcile_duration_seconds",
    help: "Time of one reconcile",
    labelNames: ["plan"] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: "plan_runner_reconcile_errors_total",
    help: "Reconciles that failed, by error kind",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly apiRequests = new Counter({
    name: "plan_runner_api_requests_total",
    help: "Kubernetes API requests by verb, resource and HTTP code",
    labelNames: ["verb", "resource", "code"] as const,
    registers: [this.registry],
  });
  readonly apiDuration = new Histogram({
    name: "plan_runner_api_request_duration_seconds",
    help: "Kubernetes API request latency (sent to answered, after any client-side throttling) by verb",
    labelNames: ["verb"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly apiThrottled = new Counter({
    name: "plan_runner_api_throttled_seconds_total",
    help: "Time API requests waited for the client-side rate limit (--kube-api-qps, --kube-api-burst)",
    registers: [this.registry],
  });
  readonly notificationsSent = new Counter({
    name: "plan_runner_notifications_sent_total",
    help: "Webhook notifications the receiver accepted (2xx)",
    registers: [this.registry],
  });
  readonly notificationFailures = new Counter({
    name: "plan_runner_notification_failures_total",
    help: "Webhook notifications given up, by the kind of the last failure (timeout, network, http_<code>, no_secret, bad_url, queue_full, shutdown)",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly leader = new Gauge({ name: "plan_runner_leader", help: "1 while this replica holds the lease", registers: [this.registry] });

  constructor(withProcessMetrics = true) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: "plan_runner_" });
  }

  private readonly started = new Map<string, number>();

  recordPlan(
    plan: string,
    states: ReadonlyMap<string, NodeState>,
    flags: { held: boolean; blocked: boolean; halted: boolean; complete: boolean; versionMismatch?: boolean },
    now = Date.now(),
  ): void {
    const counts = Object.fromEntries(NODE_STATES.map((s) => [s, 0])) as Record<NodeState, number>;
    for (const s of states.values()) counts[s]++;
    const inFlight = NODE_STATES.filter((s) => SLOT_STATES.has(s)).reduce((a, s) => a + counts[s], 0);
    for (const [state, n] of Object.entries(counts)) this.planNodes.set({ plan, state }, n);
    this.held.set({ plan }, flags.held ? 1 : 0);
    this.blocked.set({ plan }, flags.blocked ? 1 : 0);
    this.halted.set({ plan }, flags.halted ? 1 : 0);
    this.complete.set({ plan }, flags.complete ? 1 : 0);
    this.versionMismatch.set({ plan }, flags.versionMismatch === true ? 1 : 0);
    this.inFlight.set({ plan }, inFlight);
    // When the current rollout began, for a stall alert (time() - started > N with nothing completing).
    const busy = inFlight > 0;
    if (busy && !this.started.has(plan)) this.started.set(plan, now);
    if (!busy && (flags.complete || counts.pending === 0)) this.started.delete(plan);
    this.startedTimestamp.set({ plan }, (this.started.get(plan) ?? 0) / 1000);
  }

  forgetPlan(plan: string): void {
    this.started.delete(plan);
    for (const g of [this.held, this.blocked, this.halted, this.inFlight, this.startedTimestamp, this.complete, this.versionMismatch]) g.remove({ plan });
    for (const state of NODE_STATES) this.planNodes.remove({ plan, state });
  }
}
