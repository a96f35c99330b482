import type { Command } from "../io.ts";
import { BadInput, HOST_OPTIONS, HOST_OPTIONS_HELP, hostRunnerFrom, parseOptions, runNodeCommand, seconds, sleep } from "../../executors/command-support.ts";
import { APT_TIMEOUT_MS, DEFAULT_APT_SOURCE, KUBEADM_TIMEOUT_MS, ROLES, kubeadmUpgrade, type Role } from "../../executors/kubeadm-upgrade.ts";
import { parseRelease } from "../../executors/versions.ts";

const HELP = `usage: plan-runner kubeadm-upgrade --role control-plane|worker --release X.Y.Z [options]

Upgrades this node's Kubernetes with kubeadm, from the upgrade pod (host / mounted at /host):
on a minor bump, point the apt source at the new minor's repository; unhold, install and hold
the exact kubeadm; on the first control plane \`kubeadm upgrade plan\` must offer the release and
\`kubeadm upgrade apply\` runs (CoreDNS left alone), elsewhere \`kubeadm upgrade node\`; then kubelet
and kubectl, daemon-reload, kubelet restart, and a check that the node reports the release.
Idempotent: a node already there changes nothing; a run that stopped anywhere is completed by
running it again.

exit 0 done · 1 a step failed (named) · 3 bad input

options:
  --role ROLE            control-plane or worker
  --release X.Y.Z        the Kubernetes release (a leading v is accepted: $(SYSTEM_UPGRADE_PLAN_LATEST_VERSION))
  --node NAME            this node's name (env SYSTEM_UPGRADE_NODE_NAME, set by the controller)
  --apt-source FILE      apt source of the Kubernetes repository (default ${DEFAULT_APT_SOURCE})
  --verify-timeout SECS  how long the node may take to report the release after the kubelet restart (default 300)
  --patches DIR          kubeadm patches directory on the host, passed to kubeadm upgrade apply/node
                         (kubeadm does not remember the one init used; without it they are lost)
  --config FILE          a kubeadm UpgradeConfiguration on the host, passed to kubeadm upgrade plan/apply/node
                         (its timeouts, apply.patches and node.patches; kubeadm refuses --patches beside it)
  --kubeadm-timeout SECS how long one kubeadm command may run (default ${KUBEADM_TIMEOUT_MS / 1000})
  --apt-timeout SECS     how long one apt-get or dpkg command may run (default ${APT_TIMEOUT_MS / 1000})
${HOST_OPTIONS_HELP}`;

const OPTIONS = {
  ...HOST_OPTIONS,
  role: { type: "string" },
  release: { type: "string" },
  node: { type: "string" },
  "apt-source": { type: "string" },
  "verify-timeout": { type: "string" },
  patches: { type: "string" },
  config: { type: "string" },
  "kubeadm-timeout": { type: "string" },
  "apt-timeout": { type: "string" },
} as const;

export const run: Command = (argv, io) =>
  runNodeCommand("kubeadm-upgrade", io, async () => {
    const { values } = parseOptions(argv, OPTIONS);
    if (values.help === true) {
      io.out(HELP);
      return 0;
    }
    if (values.role === undefined) throw new BadInput(`--role is required: ${ROLES.join(" or ")}`);
    if (!(ROLES as readonly string[]).includes(values.role)) throw new BadInput(`unknown role "${values.role}": use ${ROLES.join(" or ")}`);
    if (values.release === undefined) throw new BadInput("--release is required (e.g. --release 1.35.2)");
    const release = parseRelease(values.release);
    if (release === undefined) throw new BadInput(`malformed release "${values.release}": expected X.Y.Z, e.g. 1.35.2`);
    const node = values.node ?? io.env["SYSTEM_UPGRADE_NODE_NAME"];
    if (node === undefined || node === "") throw new BadInput("--node is required outside an upgrade pod (SYSTEM_UPGRADE_NODE_NAME is unset)");
    const verifyTimeoutMs = seconds("verify-timeout", values["verify-timeout"], 300);
    const patches = values.patches;
    if (patches !== undefined && !patches.startsWith("/")) throw new BadInput(`--patches must be an absolute path on the host, not "${patches}"`);
    const config = values.config;
    if (config !== undefined && !config.startsWith("/")) throw new BadInput(`--config must be an absolute path on the host, not "${config}"`);
    if (config !== undefined && patches !== undefined) {
      throw new BadInput("--patches cannot be combined with --config (kubeadm refuses both): set apply.patches and node.patches in the UpgradeConfiguration");
    }
    const kubeadmTimeoutMs = seconds("kubeadm-timeout", values["kubeadm-timeout"], KUBEADM_TIMEOUT_MS / 1000);
    const aptTimeoutMs = seconds("apt-timeout", values["apt-timeout"], APT_TIMEOUT_MS / 1000);
    const runner = hostRunnerFrom(values, io.env, io.out);
    const outcome = await kubeadmUpgrade(
      { runner, log: io.out, sleep, now: Date.now },
      {
        role: values.role as Role,
        release,
        node,
        aptSource: values["apt-source"] ?? DEFAULT_APT_SOURCE,
        verifyTimeoutMs,
        pollIntervalMs: 5_000,
        kubeadmTimeoutMs,
        aptTimeoutMs,
        ...(patches === undefined ? {} : { patches }),
        ...(config === undefined ? {} : { config }),
      },
    );
    io.out(outcome === "already-at-target" ? "kubeadm-upgrade: nothing to do" : "kubeadm-upgrade: done");
    return 0;
  });
