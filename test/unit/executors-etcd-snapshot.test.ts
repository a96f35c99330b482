import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KUBEADM_ETCD_DEFAULTS, etcdSnapshot, snapshotName, type EtcdSnapshotOptions, type SnapshotMethod } from "../../src/executors/etcd-snapshot.ts";
import { StepFailure } from "../../src/executors/step-failure.ts";
import { FakeHost, fakeDeps } from "../fixtures/executors/fake-host.ts";

const opts = (method: SnapshotMethod): EtcdSnapshotOptions => ({
  method,
  dir: "/var/lib/plan-runner/etcd-snapshots",
  name: "etcd-before-v1.35.1-20260628T120000Z.db",
  ...KUBEADM_ETCD_DEFAULTS,
});
const TLS =
  "--endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key";
const FINAL = "/var/lib/plan-runner/etcd-snapshots/etcd-before-v1.35.1-20260628T120000Z.db";

async function snapshot(host: FakeHost, method: SnapshotMethod) {
  const runner = host.runner();
  const result = await etcdSnapshot(fakeDeps(runner), opts(method));
  return { result, transcript: runner.transcript() };
}

describe("etcd-snapshot", () => {
  test("crictl: etcdctl inside the running etcd container, staged in its data dir, moved out, size checked", async () => {
    const host = new FakeHost({ at: "1.34.3" });
    const { result, transcript } = await snapshot(host, "crictl");
    assert.deepEqual(transcript, [
      "snapshot-dir: mkdir -p -m 0700 /var/lib/plan-runner/etcd-snapshots",
      "find-etcd: crictl ps --name ^etcd$ --state running --quiet",
      `snapshot: crictl exec 3f1c9e etcdctl ${TLS} snapshot save /var/lib/etcd/etcd-before-v1.35.1-20260628T120000Z.db`,
      `snapshot-move: mv -f /var/lib/etcd/etcd-before-v1.35.1-20260628T120000Z.db ${FINAL}`,
      `snapshot-size: stat -c %s ${FINAL}`,
    ]);
    assert.deepEqual(result, { path: FINAL, bytes: 4 * 1024 * 1024 });
    assert.ok(host.files.has(FINAL));
  });

  test("host: the host's etcdctl writes straight into the directory", async () => {
    const { transcript } = await snapshot(new FakeHost({ at: "1.34.3" }), "host");
    assert.deepEqual(transcript, [
      "snapshot-dir: mkdir -p -m 0700 /var/lib/plan-runner/etcd-snapshots",
      `snapshot: etcdctl ${TLS} snapshot save ${FINAL}`,
      `snapshot-size: stat -c %s ${FINAL}`,
    ]);
  });

  const sizes: { bytes: number; ok: boolean }[] = [
    { bytes: 0, ok: false },
    { bytes: 1023, ok: false },
    { bytes: 1024, ok: true },
    { bytes: 50_000_000, ok: true },
  ];
  for (const s of sizes) {
    test(`a ${s.bytes}-byte snapshot is ${s.ok ? "accepted" : "refused"}`, async () => {
      const host = new FakeHost({ at: "1.34.3" });
      host.snapshotBytes = s.bytes;
      const run = snapshot(host, "crictl");
      if (s.ok) return assert.equal((await run).result.bytes, s.bytes);
      await assert.rejects(
        run,
        (e: unknown) => e instanceof StepFailure && e.step === "snapshot-size" && new RegExp(`is ${s.bytes} bytes, under 1 KiB: refusing`).test(e.message),
      );
    });
  }

  test("no running etcd container: refused, naming the step", async () => {
    const host = new FakeHost({ at: "1.34.3" });
    host.etcdContainer = undefined;
    await assert.rejects(
      snapshot(host, "crictl"),
      (e: unknown) => e instanceof StepFailure && e.step === "find-etcd" && /no running etcd container/.test(e.message),
    );
  });

  for (const method of ["crictl", "host"] as const) {
    test(`${method}: a failure at any step stops there and names it`, async () => {
      const { transcript } = await snapshot(new FakeHost({ at: "1.34.3" }), method);
      for (let i = 0; i < transcript.length; i++) {
        const host = new FakeHost({ at: "1.34.3" });
        host.failFrom = i;
        const runner = host.runner();
        const step = (transcript[i] ?? "").split(":")[0];
        await assert.rejects(
          etcdSnapshot(fakeDeps(runner), opts(method)),
          (e: unknown) => e instanceof StepFailure && e.step === step && e.kind === "exit" && e.exitCode === 100,
        );
        assert.equal(runner.calls.length, i + 1);
      }
    });
  }

  test("snapshot names sort by time and carry the release", () => {
    const at = new Date("2026-06-28T12:00:00.123Z");
    assert.equal(snapshotName(at, "v1.35.1"), "etcd-before-v1.35.1-20260628T120000Z.db");
    assert.equal(snapshotName(at, undefined), "etcd-20260628T120000Z.db");
    assert.equal(snapshotName(at, "v1.35/../../x"), "etcd-before-v1.35....x-20260628T120000Z.db");
  });
});
