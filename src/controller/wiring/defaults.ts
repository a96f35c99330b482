import { DEFAULT_RATE_LIMIT } from "../kube/rate-limit.ts";

/**
 * The controller's defaults, in one object: the `controller` command's flags fall back to it,
 * the dry run (`plan`) renders with it so it shows the pods the controller makes, and the tests
 * start from it, changing only the timings they need shorter.
 */
export const ControllerDefaults = Object.freeze({
  namespace: "system-upgrade",
  controllerName: "plan-runner",
  metricsAddress: ":8080",
  leaderElection: true,
  workers: 4,
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  /** Full relist of the caches: client-node-style watches can stall silently. */
  relistMs: 5 * 60_000,
  /** Finished upgrade pods are kept this long for `kubectl logs`. */
  podTtlMs: 60 * 60_000,
  /** A held or blocked prepare gate runs again after this. */
  pollIntervalMs: 5 * 60_000,
  channelPollMs: 15 * 60_000,
  channelTimeoutMs: 10_000,
  alertsCacheMs: 15_000,
  /**
   * Writes that can wait are gathered this long and made together: the Events of many passes,
   * a status that changed only in its progress (counts, applying, message, waits).
   */
  writeBatchMs: 1_000,
  /** A call the API server refused for good is looked at again after this (or on a change). */
  refusedRequeueMs: 10 * 60_000,
  /** activeDeadlineSeconds of a pod when the Plan sets no jobActiveDeadlineSecs, and its cap. */
  defaultDeadlineSecs: 900,
  maxDeadlineSecs: 7200,
  defaultRetries: 2,
  defaultBackoffMs: 30_000,
  /** The Secret (in the controller's namespace, key `url`) holding the notification webhook; none: no notifications. */
  notifySecret: undefined as string | undefined,
  /** One POST to the webhook; then retries with a doubling wait; a bounded queue in front. */
  notifyTimeoutMs: 5_000,
  notifyRetries: 3,
  notifyBackoffMs: 1_000,
  notifyQueueSize: 100,
  /** Client-side limit on API requests. */
  apiRateLimit: DEFAULT_RATE_LIMIT,
});

export type ControllerDefaults = typeof ControllerDefaults;
