// The demo: a real control plane with 1 control-plane and 4 worker nodes (simulated by kwok),
// the shipped Plans from plans/ (control plane first, then the workers after it), the
// controller as its own process, and the rollout drawn in the terminal until it is done.
//
//   npm run demo [-- --keep]     --keep leaves the cluster and controller running afterwards
import { spawn } from "node:child_process";
import { mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { renderStatus } from "../src/cli/commands/status.ts";
import { KubeAdapter } from "../src/controller/kube/adapter.ts";
import type { Node } from "../src/controller/rollout/objects.ts";
import { resources } from "../src/controller/kube/ports.ts";
import type { PlanObject } from "../src/controller/wiring/reconciler.ts";
import { ensureControlPlaneBinaries } from "../test/env/binaries.ts";
import { startControlPlane } from "../test/env/control-plane.ts";
import { waitFor } from "../test/env/wait.ts";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const keep = process.argv.includes("--keep");
const say = (line: string): void => void process.stderr.write(`[demo] ${line}\n`);
const NS = "system-upgrade";
const OPT_IN = "plan-runner.io/kubeadm-upgrade";

async function main(): Promise<number> {
  const binDir = await ensureControlPlaneBinaries();
  say("starting a control plane: etcd, kube-apiserver, controller manager, scheduler, kwok (1 control-plane + 4 workers)");
  const dir = resolve(root, ".demo");
  mkdirSync(dir, { recursive: true });
  // The simulated kubelets report the release before the Plans' target, as a cluster about to be upgraded would.
  const nodeSpecs = [
    { name: "control-plane-1", role: "control-plane" as const },
    ...[1, 2, 3, 4].map((i) => ({ name: `worker-${i}`, role: "worker" as const })),
  ].map((n) => ({ ...n, kubeletVersion: "v1.34.3" }));
  const cp = await startControlPlane({ nodes: nodeSpecs, binDir, log: (l) => say(l), ...(keep ? { dir: resolve(dir, "cluster"), detached: true } : {}) });
  const kubectl = async (...args: string[]): Promise<string> => {
    const r = await cp.kubectl(args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  let controller: ReturnType<typeof spawn> | undefined;
  try {
    for (const f of ["deploy/namespace.yaml", "deploy/crd/plans.upgrade.cattle.io.yaml", "deploy/upgrade-rbac.yaml"])
      await kubectl("apply", "--server-side", "-f", resolve(root, f));
    await waitFor(async () => (await cp.kubectl(["get", "plans", "-A"])).code === 0, { timeoutMs: 30_000, what: "the Plan CRD to be served" });
    const nodes = (await kubectl("get", "nodes", "-o", "name")).trim().split("\n");
    say(`opting ${nodes.length} nodes in with the label ${OPT_IN}=enabled`);
    await kubectl("label", "--overwrite", ...nodes, `${OPT_IN}=enabled`);

    // The shipped Plans, unchanged but for the waits that make sense on a real cluster only, cut for a demo.
    const plans = ["plans/k8s-control-plane.yaml", "plans/k8s-workers.yaml"].flatMap((f) =>
      parseAllDocuments(readFileSync(resolve(root, f), "utf8"), { version: "1.1" })
        .map((d) => d.toJS() as PlanObject)
        .filter((p) => p?.kind === "Plan"),
    );
    for (const p of plans) {
      // The demo runs no channel server and no package repository: it pins, as a GitOps user would.
      if (p.spec.channel !== undefined && p.spec.version === undefined) {
        say(`${p.metadata.name}: pinned to v1.35.1 instead of following ${p.spec.channel}`);
        delete p.spec.channel;
        p.spec.version = "v1.35.1";
      }
      // Simulated nodes run no kubelet to upgrade: the postflight would rightly say they did not move.
      if (p.spec.gates?.postflight !== undefined) {
        say(`${p.metadata.name}: postflight off (simulated kubelets keep their version)`);
        delete p.spec.gates.postflight;
      }
      // The demo's nodes became Ready seconds ago: the preflight's 24h quiet period would hold it for a day.
      if (p.spec.gates?.cluster !== undefined) {
        say(`${p.metadata.name}: preflight quiet period ${p.spec.gates.cluster.quietPeriod ?? "24h"} shortened to 5s for the demo`);
        p.spec.gates.cluster.quietPeriod = "5s";
      }
      if (p.spec.gates?.health?.soak !== undefined) {
        say(`${p.metadata.name}: health soak ${p.spec.gates.health.soak} shortened to 3s for the demo`);
        p.spec.gates.health.soak = "3s";
      }
    }
    writeFileSync(resolve(dir, "plans.json"), JSON.stringify({ apiVersion: "v1", kind: "List", items: plans }));
    await kubectl("apply", "-f", resolve(dir, "plans.json"));
    say(`applied ${plans.map((p) => p.metadata.name).join(", ")}`);

    const log = resolve(dir, "controller.log");
    controller = spawn(
      process.execPath,
      [resolve(root, "bin/plan-runner.js"), "controller", "--kubeconfig", cp.kubeconfigPath, "--namespace", NS, "--metrics-address", "off"],
      {
        stdio: ["ignore", "ignore", openSync(log, "w")],
        detached: keep,
      },
    );
    say(`controller started (pid ${controller.pid}); its JSON log: ${log}`);

    const kube = new KubeAdapter({ kubeconfig: cp.kubeconfigPath });
    const t0 = Date.now();
    const tty = process.stdout.isTTY;
    let last = "";
    const done = await waitFor(
      async () => {
        const [p, n] = await Promise.all([kube.list<PlanObject>(resources.plans, NS), kube.list<Node>(resources.nodes, undefined)]);
        const text = renderStatus(p.items, n.items);
        if (text.replace(/\(.*\)\n$/, "") !== last.replace(/\(.*\)\n$/, "")) {
          process.stdout.write(tty ? `\u001b[2J\u001b[H${text}` : `${text}\n`);
          last = text;
        }
        const states = p.items.map((x) => x.status?.state);
        if (states.some((s) => s === "Halted" || s === "Blocked" || s === "Invalid")) throw new Error(`a Plan stopped: ${text}`);
        return p.items.length === plans.length && p.items.every((x) => x.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True"))
          ? p.items
          : false;
      },
      { timeoutMs: 10 * 60_000, what: "every Plan to complete", intervalMs: 500 },
    );
    say(`rollout complete in ${((Date.now() - t0) / 1000).toFixed(1)}s: ${done.map((p) => `${p.metadata.name} ${p.status?.progress ?? ""}`).join(", ")}`);
    const labels = "plan.upgrade.cattle.io/k8s-control-plane,plan.upgrade.cattle.io/k8s-workers";
    process.stdout.write(
      `\n$ kubectl get plans -n ${NS}\n${await kubectl("get", "plans", "-n", NS)}\n$ kubectl get nodes -L ${labels}\n${await kubectl("get", "nodes", "-L", labels)}\n`,
    );
    const pod = (await kubectl("get", "pods", "-n", NS, "-o", "name")).trim().split("\n")[0] ?? "";
    process.stdout.write(
      `$ kubectl get events -n ${NS} --field-selector involvedObject.kind=Plan\n${await kubectl("get", "events", "-n", NS, "--field-selector", "involvedObject.kind=Plan")}\n`,
    );
    if (keep) {
      say(`left running. export KUBECONFIG=${cp.kubeconfigPath}; try: ${binDir}/kubectl logs -n ${NS} ${pod}; plan-runner status --watch`);
      say(`stop it with: kill ${controller.pid}; npm run cluster:down is for the other cluster - this one: rm via the pids in ${resolve(dir, "cluster")}`);
    }
    return 0;
  } finally {
    if (!keep) {
      controller?.kill("SIGTERM");
      await cp.stop();
    }
  }
}

try {
  process.exit(await main());
} catch (e: unknown) {
  say(e instanceof Error ? e.message : String(e));
  process.exit(1);
}
