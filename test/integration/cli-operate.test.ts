// What a person sees around the controller, against the real API server: `kubectl apply -f plans/`
// as the README says it (the CRD and the namespace installed), and `plan-runner status` naming a
// Plan that is not there.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { run as status } from "../../src/cli/commands/status.ts";
import { bufferIO } from "../../src/cli/io.ts";
import { type Env, aPlan, applyPlan, startEnv } from "./controller-env.ts";

const repo = fileURLToPath(new URL("../../", import.meta.url));

let env: Env;
before(async () => {
  env = await startEnv(1, 1);
});
after(async () => env?.stop());

async function kubectlOk(args: readonly string[]): Promise<string> {
  const r = await env.cp.kubectl(args);
  assert.equal(r.code, 0, `kubectl ${args.join(" ")}:\n${r.stderr}`);
  return r.stdout;
}

describe("kubectl apply -f plans/", () => {
  it("is accepted by the API server as it ships (server-side dry run): every Plan, nothing else", async () => {
    await kubectlOk(["create", "namespace", "system-upgrade"]);
    const out = await kubectlOk(["apply", "-f", `${repo}plans/`, "--dry-run=server"]);
    assert.deepEqual(out.trim().split("\n").sort(), [
      "plan.upgrade.cattle.io/k8s-control-plane created (server dry run)",
      "plan.upgrade.cattle.io/k8s-workers created (server dry run)",
      "plan.upgrade.cattle.io/os-packages created (server dry run)",
    ]);
  });

  it("SUC's examples apply from their own folder, in their own namespaces", async () => {
    await kubectlOk(["create", "namespace", "k3os-system"]);
    const out = await kubectlOk(["apply", "-f", `${repo}examples/suc/`, "--dry-run=server"]);
    assert.match(out, /^plan\.upgrade\.cattle\.io\/k3os-latest created \(server dry run\)$/m);
    assert.match(out, /^plan\.upgrade\.cattle\.io\/k3s-server created \(server dry run\)$/m);
    assert.match(out, /^plan\.upgrade\.cattle\.io\/k3s-agent created \(server dry run\)$/m);
  });
});

describe("plan-runner status PLAN", () => {
  it("a Plan that is not in the namespace is an error naming it and the namespace, exit 1", async () => {
    const ns = await env.cp.createNamespace("status");
    await applyPlan(env, aPlan(ns, "workers", {}));
    const io = bufferIO({ KUBECONFIG: env.cp.kubeconfigPath });
    assert.equal(await status(["wokers", "-n", ns], io), 1);
    assert.equal(io.stderr().trim(), `plan-runner status: no Plan wokers in namespace ${ns} (it has workers; -n NS for another)`);
    assert.equal(io.stdout(), "");

    const empty = await env.cp.createNamespace("status-empty");
    const io2 = bufferIO({ KUBECONFIG: `/nonexistent/kubeconfig:${env.cp.kubeconfigPath}` });
    assert.equal(await status(["workers", "--namespace", empty], io2), 1, "reads a $KUBECONFIG list as kubectl does");
    assert.equal(io2.stderr().trim(), `plan-runner status: no Plan workers in namespace ${empty} (it has no Plans; -n NS for another)`);
  });

  it("a Plan no controller has reconciled yet shows no bar", async () => {
    const ns = await env.cp.createNamespace("status-new");
    await applyPlan(env, aPlan(ns, "fresh", {}));
    const io = bufferIO({ KUBECONFIG: env.cp.kubeconfigPath });
    assert.equal(await status(["fresh", "-n", ns], io), 0, io.stderr());
    assert.match(io.stdout(), /^fresh {2}no status yet: no controller has reconciled it/m);
    assert.doesNotMatch(io.stdout(), /\[[#.]+\]/);
  });
});
