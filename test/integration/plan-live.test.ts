// `plan-runner plan FILE` live: the dry run against a real API server must show exactly what the
// controller then does: the same hash, the same nodes in the same order, and the same pods, whole
// (every label, annotation and field), not only their names.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { after, before, describe, it } from "node:test";
import { parseAllDocuments, stringify } from "yaml";
import { main } from "../../src/cli/main.ts";
import { bufferIO } from "../../src/cli/io.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import type { Pod } from "../../src/controller/rollout/objects.ts";
import { type Env, PodWatch, aPlan, applyPlan, condition, optIn, runController, startEnv, waitForPlan } from "./controller-env.ts";

let env: Env;
before(async () => {
  env = await startEnv(4, 1);
});
after(async () => env?.stop());

const podsOf = (out: string): Pod[] =>
  parseAllDocuments(out)
    .map((d) => d.toJS() as unknown)
    .filter((v): v is Pod => typeof v === "object" && v !== null && (v as { kind?: string }).kind === "Pod");

/**
 * A pod as the API server stores it, without what the server makes up for each object (uid,
 * resourceVersion, times, managedFields, status) and with the service-account token volume's
 * random suffix masked: everything else must be equal.
 */
function comparable(pod: Pod): unknown {
  const { uid: _u, resourceVersion: _r, creationTimestamp: _c, managedFields: _m, ...metadata } = pod.metadata as Record<string, unknown>;
  const text = JSON.stringify({ ...pod, metadata, status: undefined }).replaceAll(/kube-api-access-[a-z0-9]{5}/g, "kube-api-access-*");
  return JSON.parse(text) as unknown;
}

/** The predicted pods through the same API server's defaulting and admission, created by nobody (a server dry run). */
async function asStored(pods: readonly Pod[], dir: string): Promise<Pod[]> {
  const out: Pod[] = [];
  for (const pod of pods) {
    writeFileSync(`${dir}/predicted.json`, JSON.stringify(pod));
    const r = await env.cp.kubectl(["create", "--dry-run=server", "-o", "json", "-f", `${dir}/predicted.json`]);
    assert.equal(r.code, 0, r.stderr);
    out.push(JSON.parse(r.stdout) as Pod);
  }
  return out;
}

async function dryRun(file: string, env2: Record<string, string>): Promise<string> {
  const io = bufferIO(env2);
  const code = await main(["plan", file, "--pods", "all"], io);
  assert.equal(code, 0, io.stderr());
  return io.stdout();
}

describe("plan (live dry run)", () => {
  it("predicts the controller's hash, order and whole pods, reading $KUBECONFIG, and writes nothing", async () => {
    const ns = await env.cp.createNamespace("live");
    await env.kube.create(resources.secrets, ns, {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "creds", namespace: ns },
      stringData: { token: "s3cret" },
    } as never);
    const label = "test.plan-runner.dev/live";
    await optIn(env, ["worker-3", "control-plane-1", "worker-1"], label);
    const plan = aPlan(ns, "live", {
      concurrency: 1,
      secrets: [{ name: "creds", path: "/creds" }],
      nodeSelector: { matchLabels: { [label]: "yes" } },
      tolerations: [{ operator: "Exists" }],
    });
    const dir = mkdtempSync(`${tmpdir()}/plan-live-`);
    writeFileSync(`${dir}/plan.yaml`, stringify(plan, { version: "1.1" }));
    // A $KUBECONFIG list, as kubectl reads it: files that do not exist are skipped.
    const kubeEnv = { KUBECONFIG: `${dir}/absent-kubeconfig:${env.cp.kubeconfigPath}` };

    const before = await dryRun(`${dir}/plan.yaml`, kubeEnv);
    const predictedHash = /# {3}hash {9}(\S+)/.exec(before)?.[1];
    assert.ok(predictedHash !== undefined && predictedHash.length === 56, before.slice(0, 400));
    assert.doesNotMatch(before, /PROVISIONAL|WARNING: secret/, "live mode read the secret");
    assert.doesNotMatch(before, /s3cret|czNjcmV0/, "no secret value printed");
    assert.match(before, /NOTE: a new Plan: its pods will also name it as their owner/);
    assert.equal((await env.kube.list(resources.plans, ns)).items.length, 0, "the dry run created nothing");

    // Once the Plan exists the dry run knows its uid, so it predicts the owner reference too.
    const created = await applyPlan(env, plan);
    const predicted = podsOf(await dryRun(`${dir}/plan.yaml`, kubeEnv));
    assert.equal(predicted.length, 3);
    assert.deepEqual(
      podsOf(before),
      predicted.map((p) => ({ ...p, metadata: { ...p.metadata, ownerReferences: undefined } })).map((p) => JSON.parse(JSON.stringify(p)) as Pod),
      "only the owner reference was unknown before the Plan existed",
    );
    assert.equal(predicted[0]?.metadata.ownerReferences?.[0]?.uid, created.metadata.uid);
    const stored = await asStored(predicted, dir);

    const watch = new PodWatch(env, ns);
    const ctl = await runController(env, ns);
    try {
      const done = await waitForPlan(env, ns, "live", "Complete", (p) => condition(p, "Complete")?.status === "True");
      assert.equal(done.status?.latestHash, predictedHash);
      assert.deepEqual(watch.nodeOrder, ["control-plane-1", "worker-1", "worker-3"]);
      assert.deepEqual(
        [...watch.seen.keys()],
        predicted.map((p) => p.metadata.name),
      );
      for (const want of stored) {
        const real = await env.kube.get<Pod>(resources.pods, ns, want.metadata.name);
        assert.deepEqual(comparable(real), comparable(want), `pod ${want.metadata.name}`);
      }
    } finally {
      await watch.stop();
      await ctl.stop();
    }
  });

  it("warns, from the cluster, about an after Plan that is not Complete and a secret that does not exist", async () => {
    const ns = await env.cp.createNamespace("blockers");
    await applyPlan(env, aPlan(ns, "first", {}));
    const second = aPlan(ns, "second", { after: ["first", "zeroth"], secrets: [{ name: "absent", path: "/absent" }], nodeSelector: { matchLabels: {} } });
    const dir = mkdtempSync(`${tmpdir()}/plan-blockers-`);
    writeFileSync(`${dir}/second.yaml`, stringify(second, { version: "1.1" }));
    const io = bufferIO();
    assert.equal(await main(["plan", `${dir}/second.yaml`, "--kubeconfig", env.cp.kubeconfigPath, "--pods", "none"], io), 0, io.stderr());
    const out = io.stdout();
    assert.match(
      out,
      new RegExp(`^# {3}WARNING: secret absent \\(spec\\.secrets\\) is not in namespace ${ns}: the upgrade pods cannot start until it exists`, "m"),
    );
    assert.match(out, /^# {3}WARNING: waits for Plan first \(spec\.after\), which is not Complete \(state none yet, no progress yet\)$/m);
    assert.match(
      out,
      new RegExp(
        `^# {3}WARNING: waits for Plan zeroth \\(spec\\.after\\), which is not in namespace ${ns}: nothing starts until it exists and is Complete$`,
        "m",
      ),
    );
  });
});
