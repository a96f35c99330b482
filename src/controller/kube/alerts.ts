import type { CompiledAlerts } from "../../plan/compile.ts";
import type { AlertReading } from "../rollout/decision.ts";
import type { AlertsPort } from "./ports.ts";

interface AlertsAnswer {
  data?: { alerts?: Array<{ state?: string; labels?: Record<string, string> }> };
}

/**
 * Alerts labelled so are never a gate's business: the project's own rules carry it
 * (deploy/monitoring), so a halted Plan's PlanRunnerHalted cannot hold every Plan gated on
 * alerts for ever. A user who wants a gate to see one of them drops the label from that rule.
 */
export const GATE_IGNORE_LABEL = "plan_runner_gate";
export const GATE_IGNORE_VALUE = "ignore";

/** Prometheus's /api/v1/alerts: the names of firing alerts not ignored, or why they cannot be read. */
export async function firingAlerts(gate: CompiledAlerts, timeoutMs = 5000): Promise<AlertReading> {
  try {
    const res = await fetch(new URL("/api/v1/alerts", gate.url), { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = (await res.json()) as AlertsAnswer;
    if (gate.ignore !== undefined && !(gate.ignore instanceof RegExp)) throw new Error(gate.ignore.error);
    const ignore = gate.ignore;
    const firing = (body.data?.alerts ?? [])
      .filter((a) => a.state === "firing" && a.labels?.[GATE_IGNORE_LABEL] !== GATE_IGNORE_VALUE)
      .map((a) => a.labels?.["alertname"] ?? "?")
      .filter((n) => ignore === undefined || !ignore.test(n));
    return { firing: [...new Set(firing)].sort() };
  } catch (e: unknown) {
    return { error: `${gate.url}: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export const httpAlerts: AlertsPort = { firing: (gate) => firingAlerts(gate) };
