import { parseArgs } from "node:util";
import { Controller, type ControllerConfig, ListenError, defaultIdentity } from "../../controller/wiring/process.ts";
import { KubeAdapter } from "../../controller/kube/adapter.ts";
import { leaderOptionsProblem } from "../../controller/kube/leader.ts";
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel, logger } from "../../controller/wiring/log.ts";
import { Metrics } from "../../controller/wiring/metrics.ts";
import { ControllerDefaults as D } from "../../controller/wiring/defaults.ts";
import { parseGoDuration } from "../../plan/duration.ts";
import { type Command, EXIT_INVALID, EXIT_USAGE } from "../io.ts";

const HELP = `usage: plan-runner controller [options]

Runs the controller: watches Plans in --namespace and all Nodes, creates the upgrade pods.

  --kubeconfig FILE        kubeconfig (default: in-cluster service account, then $KUBECONFIG)
  --namespace NS           namespace of Plans, pods and secrets (default $POD_NAMESPACE or system-upgrade)
  --name NAME              controller name, the upgrade.cattle.io/controller label of its pods (default plan-runner)
  --metrics-address ADDR   /metrics /healthz /readyz (default :8080; "off" disables)
  --leader-elect BOOL      leader election on a Lease (default true)
  --lease-duration D       (default 15s)   --renew-deadline D (default 10s)   --retry-period D (default 2s)
  --workers N              Plans reconciled at once (default 4)
  --kube-api-qps N         API requests per second, sustained (default 100)
  --kube-api-burst N       API requests at once after a quiet spell (default 200)
  --relist D               full relist period of the caches (default 5m)
  --pod-ttl D              keep finished upgrade pods this long for kubectl logs (default 1h)
  --poll-interval D        re-run a held or blocked prepare gate after (default 5m)
  --channel-poll D         re-ask a channel for the latest version after (default 15m)
  --channel-timeout D      give up one channel request after (default 10s; asked in the background)
  --default-deadline S     activeDeadlineSeconds when a Plan sets none (default 900)
  --max-deadline S         cap on a Plan's jobActiveDeadlineSecs (default 7200)
  --log-level L            debug, info, warn or error (default info; debug adds each drain pass)
  --log-format F           json (one object per line, for a cluster's log pipeline), text (for a
                           person) or auto (default: text when stderr is a terminal, else json)
  --notify-secret NAME     post rollout started, node failed, Held/Blocked/Halted and Complete to the
                           webhook URL in this Secret's key url (in --namespace), as Slack's {"text": ...};
                           the URL is never logged (default: no notifications)
  --notify-timeout D       one POST to the webhook (default 5s); then up to 3 retries, waits doubling from 1s

Environment (set by deploy/deployment.yaml from the downward API):
  POD_NAME, POD_NAMESPACE  this replica's pod: never evicted by its own drains
  NODE_NAME                the node it runs on: taken last in every Plan, since its upgrade may end the leader
`;

function duration(flag: string, text: string): number {
  const r = parseGoDuration(text);
  if (!r.ok || r.ms < 0) throw new UsageError(`--${flag}: "${text}" is not a duration (${r.ok ? "negative" : r.reason})`);
  return r.ms;
}

class UsageError extends Error {}

const OPTIONS = {
  kubeconfig: { type: "string" },
  namespace: { type: "string" },
  name: { type: "string", default: D.controllerName },
  "metrics-address": { type: "string", default: D.metricsAddress },
  "leader-elect": { type: "string", default: String(D.leaderElection) },
  "lease-duration": { type: "string" },
  "renew-deadline": { type: "string" },
  "retry-period": { type: "string" },
  workers: { type: "string", default: String(D.workers) },
  "kube-api-qps": { type: "string", default: String(D.apiRateLimit.qps) },
  "kube-api-burst": { type: "string", default: String(D.apiRateLimit.burst) },
  relist: { type: "string" },
  "pod-ttl": { type: "string" },
  "poll-interval": { type: "string" },
  "channel-poll": { type: "string" },
  "channel-timeout": { type: "string" },
  "default-deadline": { type: "string", default: String(D.defaultDeadlineSecs) },
  "max-deadline": { type: "string", default: String(D.maxDeadlineSecs) },
  "log-level": { type: "string", default: "info" },
  "log-format": { type: "string", default: "auto" },
  "notify-secret": { type: "string" },
  "notify-timeout": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** HOST:PORT, :PORT or [IPv6]:PORT, as the metrics server listens on it. */
function listenAddress(text: string): string {
  const m = /^(\[[^\]]+\]|[^:[\]]*):(\d{1,5})$/.exec(text);
  if (m === null || Number(m[2]) > 65535) throw new UsageError(`--metrics-address: "${text}" must be HOST:PORT, :PORT or off`);
  return text;
}

const oneOf = <T extends string>(flag: string, v: string, allowed: readonly T[]): T => {
  if (!(allowed as readonly string[]).includes(v)) throw new UsageError(`--${flag}: "${v}" must be one of ${allowed.join(", ")}`);
  return v as T;
};

export interface LogSettings {
  readonly level: LogLevel;
  readonly format: LogFormat;
}

function logSettings(level: string, format: string, errIsTTY: boolean): LogSettings {
  const f = oneOf("log-format", format, [...LOG_FORMATS, "auto"]);
  return { level: oneOf("log-level", level, LOG_LEVELS), format: f === "auto" ? (errIsTTY ? "text" : "json") : f };
}

function secretName(notifySecret: string | undefined): string | undefined {
  if (notifySecret !== undefined && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(notifySecret)) {
    // Not echoed: a webhook URL given here by mistake would land in the controller's log.
    throw new UsageError(`--notify-secret: expects the name of a Secret holding the URL (lower case letters, digits, "-" and "."), not the URL itself`);
  }
  return notifySecret;
}

/** Parsed once at start-up into a frozen object: nothing later reads flags or the environment. */
export function parseControllerConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  errIsTTY = false,
): { config: ControllerConfig; kubeconfig: string | undefined; log: LogSettings } {
  const { values } = parseArgs({
    args: [...argv],
    options: OPTIONS,
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) throw new UsageError(HELP);
  const int = (flag: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${flag}: "${v}" must be an integer >= ${min}`);
    return n;
  };
  const span = (
    flag: "relist" | "lease-duration" | "renew-deadline" | "retry-period" | "pod-ttl" | "poll-interval" | "channel-poll" | "channel-timeout" | "notify-timeout",
    fallback: number,
  ): number => {
    const text = values[flag];
    return typeof text === "string" ? duration(flag, text) : fallback;
  };
  const namespace = values.namespace ?? env["POD_NAMESPACE"] ?? D.namespace;
  const metrics = values["metrics-address"] === "off" ? "off" : listenAddress(values["metrics-address"]);
  const log = logSettings(values["log-level"], values["log-format"], errIsTTY);
  const notifySecret = secretName(values["notify-secret"]);
  const config: ControllerConfig = Object.freeze({
    ...D,
    namespace,
    controllerName: values.name,
    workers: int("workers", values.workers, 1),
    apiRateLimit: { qps: int("kube-api-qps", values["kube-api-qps"], 1), burst: int("kube-api-burst", values["kube-api-burst"], 1) },
    relistMs: span("relist", D.relistMs),
    leaderElection: values["leader-elect"] !== "false",
    leaseName: `${values.name}-leader`,
    leaseDurationMs: span("lease-duration", D.leaseDurationMs),
    renewDeadlineMs: span("renew-deadline", D.renewDeadlineMs),
    retryPeriodMs: span("retry-period", D.retryPeriodMs),
    metricsAddress: metrics === "off" ? undefined : metrics,
    identity: defaultIdentity(),
    pollIntervalMs: span("poll-interval", D.pollIntervalMs),
    podTtlMs: span("pod-ttl", D.podTtlMs),
    channelPollMs: span("channel-poll", D.channelPollMs),
    channelTimeoutMs: span("channel-timeout", D.channelTimeoutMs),
    defaultDeadlineSecs: int("default-deadline", values["default-deadline"], 0),
    maxDeadlineSecs: int("max-deadline", values["max-deadline"], 1),
    protectedPods: new Set(env["POD_NAME"] !== undefined ? [`${namespace}/${env["POD_NAME"]}`] : []),
    ownNode: env["NODE_NAME"] !== "" ? env["NODE_NAME"] : undefined,
    notifySecret,
    notifyTimeoutMs: span("notify-timeout", D.notifyTimeoutMs),
  });
  const leaseProblem = config.leaderElection ? leaderOptionsProblem(config) : undefined;
  if (leaseProblem !== undefined) throw new UsageError(`--lease-duration, --renew-deadline, --retry-period: ${leaseProblem}`);
  return { config, kubeconfig: values.kubeconfig, log };
}

export const run: Command = async (argv, io) => {
  let parsed: ReturnType<typeof parseControllerConfig>;
  try {
    parsed = parseControllerConfig(argv, io.env, io.errIsTTY === true);
  } catch (e: unknown) {
    if (e instanceof UsageError || (e instanceof TypeError && "code" in e)) {
      io.err(e.message);
      return e instanceof UsageError && e.message === HELP ? 0 : EXIT_USAGE;
    }
    throw e;
  }
  const { config, kubeconfig } = parsed;
  const log = logger({ ...parsed.log, write: (line) => io.err(line), base: { controller: config.controllerName } });
  const metrics = new Metrics();
  let kube: KubeAdapter;
  try {
    kube = new KubeAdapter({
      kubeconfig,
      rateLimit: config.apiRateLimit,
      onThrottle: (ms) => metrics.apiThrottled.inc(ms / 1000),
      onRequest: (verb, resource, code, _path, seconds) => {
        metrics.apiRequests.inc({ verb, resource, code: String(code) });
        if (seconds !== undefined) metrics.apiDuration.observe({ verb }, seconds);
      },
    });
  } catch (e: unknown) {
    io.err(`plan-runner controller: cannot load cluster credentials: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT_USAGE;
  }
  const controller = new Controller({ kube, metrics, log }, config);
  log.info("starting", { namespace: config.namespace, identity: config.identity, leaderElection: config.leaderElection });
  const stopped = new Promise<string>((resolve) => {
    const onSignal = (sig: string) => () => resolve(sig);
    process.once("SIGTERM", onSignal("SIGTERM"));
    process.once("SIGINT", onSignal("SIGINT"));
  });
  try {
    await controller.start();
  } catch (e: unknown) {
    if (!(e instanceof ListenError)) throw e;
    // One line naming the flag and the address, not a stack trace: the usual cause is a second copy running.
    log.error(`--metrics-address ${e.address}: cannot listen: ${e.why}; give another HOST:PORT, or off`);
    await controller.stop();
    return EXIT_INVALID;
  }
  // A lost lease is not a reason to exit: the controller stands by and campaigns again.
  const why = await stopped;
  log.info("stopping", { why });
  await controller.stop();
  return 0;
};
