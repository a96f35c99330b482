/**
 * How a simulated pod ends, as pod annotations read by the kwok Stages in ./stages/. Without any,
 * a pod that may end (restartPolicy Never/OnFailure) runs for 500ms and exits 0; a pod with
 * restartPolicy Always runs and is Ready until deleted.
 */
export const simAnnotation = {
  outcome: "sim.plan-runner.dev/outcome",
  exitCode: "sim.plan-runner.dev/exit-code",
  message: "sim.plan-runner.dev/message",
  runFor: "sim.plan-runner.dev/run-for",
  startDelay: "sim.plan-runner.dev/start-delay",
  failInit: "sim.plan-runner.dev/fail-init",
  ignoreSigterm: "sim.plan-runner.dev/ignore-sigterm",
  nodeReady: "sim.plan-runner.dev/node-ready",
} as const;

export interface SimulatedOutcome {
  /** "hang" keeps the pod Running forever. Default: "fail" when exitCode is non-zero, else "succeed". */
  outcome?: "succeed" | "fail" | "hang";
  exitCode?: number;
  /** The terminated container's message (what a termination-message file would hold). */
  message?: string;
  /** How long the containers run before exiting, in ms (default 500). */
  runForMs?: number;
  /** Delay before the kubelet starts the pod, in ms (default none). */
  startDelayMs?: number;
  /** Name of an init container that exits with exitCode instead of the main containers. */
  failInitContainer?: string;
  /** The pod takes its whole termination grace period when deleted. */
  ignoreSigterm?: boolean;
}

/** The annotations that make a simulated pod end as described. */
export function simulatedOutcome(o: SimulatedOutcome): Record<string, string> {
  const a: Record<string, string> = {};
  if (o.outcome !== undefined) a[simAnnotation.outcome] = o.outcome;
  if (o.exitCode !== undefined) a[simAnnotation.exitCode] = String(o.exitCode);
  if (o.message !== undefined) a[simAnnotation.message] = o.message;
  if (o.runForMs !== undefined) a[simAnnotation.runFor] = `${o.runForMs}ms`;
  if (o.startDelayMs !== undefined) a[simAnnotation.startDelay] = `${o.startDelayMs}ms`;
  if (o.failInitContainer !== undefined) a[simAnnotation.failInit] = o.failInitContainer;
  if (o.ignoreSigterm === true) a[simAnnotation.ignoreSigterm] = "true";
  return a;
}
