// The shipped Deployment must not kill a controller that is slow to start: on the kubeadm e2e's
// TCG control plane the process took about a minute to listen, and liveness alone (3 x 20 s from
// the container's start) restarted it forever (docs/kubeadm-e2e.md, Findings).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { parse } from "yaml";

interface Probe {
  httpGet?: { path?: string };
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}
interface Container {
  name: string;
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
}

async function controller(): Promise<Container> {
  const d = parse(await readFile(new URL("../../deploy/deployment.yaml", import.meta.url), "utf8")) as {
    spec: { template: { spec: { containers: Container[] } } };
  };
  const c = d.spec.template.spec.containers.find((x) => x.name === "controller");
  assert.ok(c, "deploy/deployment.yaml has the controller container");
  return c;
}

/** Seconds a probe tolerates failing before the kubelet acts (its defaults: period 10, threshold 3). */
const window = (p: Probe) => (p.periodSeconds ?? 10) * (p.failureThreshold ?? 3);

test("the controller has a startup probe on /healthz giving it at least 5 minutes before liveness counts", async () => {
  const c = await controller();
  assert.ok(c.startupProbe, "a startupProbe, so liveness waits for the first answer");
  assert.equal(c.startupProbe.httpGet?.path, "/healthz");
  assert.ok(window(c.startupProbe) >= 300, `startup window ${window(c.startupProbe)} s`);
});

test("every probe of the controller waits at least 5 s for an answer (a busy node answers late)", async () => {
  const c = await controller();
  for (const [name, p] of Object.entries({ startup: c.startupProbe, liveness: c.livenessProbe, readiness: c.readinessProbe })) {
    assert.ok(p, `${name} probe present`);
    assert.ok((p.timeoutSeconds ?? 1) >= 5, `${name} probe timeout ${p.timeoutSeconds ?? 1} s`);
  }
});
