// The shipped alert rules never hold the Plans gated on alerts (issue 10, item 2): each carries
// the label the alerts gate skips, and the gate skips it when Prometheus reports it firing.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { GATE_IGNORE_LABEL, GATE_IGNORE_VALUE, firingAlerts } from "../../src/controller/kube/alerts.ts";

const rules = parse(readFileSync(new URL("../../deploy/monitoring/plan-runner.rules.yaml", import.meta.url), "utf8")) as {
  groups: Array<{ rules: Array<{ alert?: string; labels?: Record<string, string> }> }>;
};

const firing = (alertname: string, labels: Record<string, string> = {}) => ({ state: "firing", labels: { alertname, ...labels } });
let url = "";
const server = createServer((_req, res) => {
  res.setHeader("Content-Type", "application/json");
  res.end(
    JSON.stringify({
      status: "success",
      data: {
        alerts: [
          firing("PlanRunnerHalted", { plan: "k8s-workers", severity: "critical", [GATE_IGNORE_LABEL]: GATE_IGNORE_VALUE }),
          firing("KubeletVersionSkew", { [GATE_IGNORE_LABEL]: GATE_IGNORE_VALUE }),
          firing("NodeDiskFull", { severity: "critical" }),
          firing("Watchdog"),
        ],
      },
    }),
  );
});
before(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

describe("the alerts gate and the project's own alerts", () => {
  it("every shipped rule carries the label the gate skips", () => {
    const all = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
    assert.ok(all.length >= 5);
    for (const r of all) assert.equal(r.labels?.[GATE_IGNORE_LABEL], GATE_IGNORE_VALUE, `${r.alert} lacks ${GATE_IGNORE_LABEL}: ${GATE_IGNORE_VALUE}`);
  });

  it("a firing PlanRunnerHalted does not hold a Plan gated on alerts; other alerts still do", async () => {
    const reading = await firingAlerts({ url, ignore: /^(Watchdog)$/ });
    assert.deepEqual(reading, { firing: ["NodeDiskFull"] });
  });
});
