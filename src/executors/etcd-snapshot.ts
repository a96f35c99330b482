// The recovery point before a control-plane upgrade (seed: "mandatory etcd snapshot before
// every run, even a patch"; the seed also refused a snapshot under 1 KiB).
import type { ProcedureDeps } from "./procedure.ts";
import { checkFailed } from "./step-failure.ts";

/**
 * crictl: run etcdctl inside the running etcd static pod (kubeadm hosts have crictl, and the etcd
 * image carries etcdctl); host: run the host's own etcdctl.
 */
export type SnapshotMethod = "crictl" | "host";
export const SNAPSHOT_METHODS: readonly SnapshotMethod[] = ["crictl", "host"];

export interface EtcdSnapshotOptions {
  readonly method: SnapshotMethod;
  /** Directory on the host that keeps the snapshots. */
  readonly dir: string;
  /** File name inside dir. */
  readonly name: string;
  readonly endpoint: string;
  readonly cacert: string;
  readonly cert: string;
  readonly key: string;
  /** etcd's data directory, mounted into the etcd container: where crictl's snapshot lands first. */
  readonly etcdDataDir: string;
}

export const MIN_SNAPSHOT_BYTES = 1024;
const SNAPSHOT_TIMEOUT_MS = 10 * 60_000;

export const KUBEADM_ETCD_DEFAULTS = {
  endpoint: "https://127.0.0.1:2379",
  cacert: "/etc/kubernetes/pki/etcd/ca.crt",
  cert: "/etc/kubernetes/pki/etcd/healthcheck-client.crt",
  key: "/etc/kubernetes/pki/etcd/healthcheck-client.key",
  etcdDataDir: "/var/lib/etcd",
} as const;

/** A name that sorts by time and says what it was for. */
export function snapshotName(now: Date, version: string | undefined): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  const safe = version?.replace(/[^\w.+-]/g, "") ?? "";
  return safe === "" ? `etcd-${stamp}.db` : `etcd-before-${safe}-${stamp}.db`;
}

/** Takes the snapshot and returns its path on the host; refuses one under 1 KiB. */
export async function etcdSnapshot(deps: ProcedureDeps, opts: EtcdSnapshotOptions): Promise<{ path: string; bytes: number }> {
  const { runner, log } = deps;
  const path = `${opts.dir}/${opts.name}`;
  const etcdctl = ["etcdctl", `--endpoints=${opts.endpoint}`, `--cacert=${opts.cacert}`, `--cert=${opts.cert}`, `--key=${opts.key}`];
  await runner.run("snapshot-dir", ["mkdir", "-p", "-m", "0700", opts.dir]);
  if (opts.method === "host") {
    await runner.run("snapshot", [...etcdctl, "snapshot", "save", path], { timeoutMs: SNAPSHOT_TIMEOUT_MS });
  } else {
    const { stdout } = await runner.run("find-etcd", ["crictl", "ps", "--name", "^etcd$", "--state", "running", "--quiet"], { quiet: true });
    const id = stdout
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l !== "");
    if (id === undefined) throw checkFailed("find-etcd", "no running etcd container on this node (is it a control-plane node?)");
    const staged = `${opts.etcdDataDir}/${opts.name}`;
    await runner.run("snapshot", ["crictl", "exec", id, ...etcdctl, "snapshot", "save", staged], { timeoutMs: SNAPSHOT_TIMEOUT_MS });
    await runner.run("snapshot-move", ["mv", "-f", staged, path]);
  }
  const { stdout } = await runner.run("snapshot-size", ["stat", "-c", "%s", path], { quiet: true });
  const bytes = Number(stdout.trim());
  if (!Number.isFinite(bytes) || stdout.trim() === "") throw checkFailed("snapshot-size", `cannot read the size of ${path} ("${stdout.trim()}")`);
  if (bytes < MIN_SNAPSHOT_BYTES)
    throw checkFailed("snapshot-size", `snapshot ${path} is ${bytes} bytes, under 1 KiB: refusing to go on without a usable recovery point`);
  log(`etcd snapshot ${path}: ${bytes} bytes`);
  return { path, bytes };
}
