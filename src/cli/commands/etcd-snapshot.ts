import type { Command } from "../io.ts";
import { BadInput, HOST_OPTIONS, HOST_OPTIONS_HELP, hostRunnerFrom, parseOptions, runNodeCommand, sleep } from "../../executors/command-support.ts";
import { KUBEADM_ETCD_DEFAULTS, MIN_SNAPSHOT_BYTES, SNAPSHOT_METHODS, etcdSnapshot, snapshotName, type SnapshotMethod } from "../../executors/etcd-snapshot.ts";

const DEFAULT_DIR = "/var/lib/plan-runner/etcd-snapshots";

const HELP = `usage: plan-runner etcd-snapshot [options]

Saves an etcd snapshot on this control-plane node before its upgrade and refuses (exit 1) when
the command fails or the file is under ${MIN_SNAPSHOT_BYTES} bytes. Prints the snapshot's path.

options:
  --dir DIR          where snapshots are kept on the host (default ${DEFAULT_DIR})
  --name FILE        file name (default etcd-before-<release>-<UTC time>.db)
  --release VERSION  the release being upgraded to, for the default name (env SYSTEM_UPGRADE_PLAN_LATEST_VERSION)
  --method crictl|host
                     crictl (default): etcdctl inside the running etcd static pod; host: the host's etcdctl
  --endpoint URL     etcd client URL (default ${KUBEADM_ETCD_DEFAULTS.endpoint})
  --cacert/--cert/--key FILE
                     client TLS files (default kubeadm's ${KUBEADM_ETCD_DEFAULTS.cacert} and healthcheck-client)
  --etcd-data-dir DIR
                     etcd's data directory, mounted into its container (default ${KUBEADM_ETCD_DEFAULTS.etcdDataDir})
${HOST_OPTIONS_HELP}`;

const OPTIONS = {
  ...HOST_OPTIONS,
  dir: { type: "string" },
  name: { type: "string" },
  release: { type: "string" },
  method: { type: "string" },
  endpoint: { type: "string" },
  cacert: { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
  "etcd-data-dir": { type: "string" },
} as const;

export const run: Command = (argv, io) =>
  runNodeCommand("etcd-snapshot", io, async () => {
    const { values } = parseOptions(argv, OPTIONS);
    if (values.help === true) {
      io.out(HELP);
      return 0;
    }
    const method = values.method ?? "crictl";
    if (!(SNAPSHOT_METHODS as readonly string[]).includes(method)) throw new BadInput(`unknown method "${method}": use ${SNAPSHOT_METHODS.join(" or ")}`);
    const name = values.name ?? snapshotName(new Date(), values.release ?? io.env["SYSTEM_UPGRADE_PLAN_LATEST_VERSION"]);
    if (!/^[\w.+-]+$/.test(name)) throw new BadInput(`--name "${name}" must be a plain file name`);
    const dir = values.dir ?? DEFAULT_DIR;
    if (!dir.startsWith("/")) throw new BadInput(`--dir "${dir}" must be an absolute path on the host`);
    const runner = hostRunnerFrom(values, io.env, io.out);
    const { path } = await etcdSnapshot(
      { runner, log: io.out, sleep, now: Date.now },
      {
        method: method as SnapshotMethod,
        dir,
        name,
        endpoint: values.endpoint ?? KUBEADM_ETCD_DEFAULTS.endpoint,
        cacert: values.cacert ?? KUBEADM_ETCD_DEFAULTS.cacert,
        cert: values.cert ?? KUBEADM_ETCD_DEFAULTS.cert,
        key: values.key ?? KUBEADM_ETCD_DEFAULTS.key,
        etcdDataDir: values["etcd-data-dir"] ?? KUBEADM_ETCD_DEFAULTS.etcdDataDir,
      },
    );
    io.out(path);
    return 0;
  });
