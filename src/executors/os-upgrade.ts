// The OS package path as a Plan (seed: unattended-upgrades + kured): apt upgrade that leaves
// held packages alone (kubelet, kubeadm, kubectl, the container runtime are held on purpose),
// then a reboot only when a package asked for one.
import { packageStates, type PackageState } from "./packages.ts";
import { APT_ENV, type ProcedureDeps } from "./procedure.ts";
import { checkFailed } from "./step-failure.ts";

export interface OsUpgradeOptions {
  readonly rebootIfRequired: boolean;
  /** How long to wait for the reboot to take this pod down before calling it a failure. */
  readonly rebootWaitMs: number;
}

export const REBOOT_REQUIRED = "/var/run/reboot-required";
const APT_TIMEOUT_MS = 30 * 60_000;

export type OsUpgradeOutcome = "upgraded" | "reboot-required-not-rebooting";

export async function osUpgrade(deps: ProcedureDeps, opts: OsUpgradeOptions): Promise<OsUpgradeOutcome> {
  const { runner, log } = deps;
  const holds = (await runner.run("holds", ["apt-mark", "showhold"], { quiet: true })).stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const before = holds.length === 0 ? new Map<string, PackageState>() : await packageStates(runner, "held-before", holds);
  if (holds.length > 0) log(`held, left alone: ${holds.join(", ")}`);

  await runner.run("apt-update", ["apt-get", "update", "-q"], { env: APT_ENV, timeoutMs: APT_TIMEOUT_MS });
  await runner.run("dpkg-configure", ["dpkg", "--configure", "-a"], { env: APT_ENV, timeoutMs: APT_TIMEOUT_MS });
  // --with-new-pkgs: a kernel update arrives as a new package; plain upgrade would keep it back.
  await runner.run(
    "apt-upgrade",
    ["apt-get", "upgrade", "-y", "-q", "--with-new-pkgs", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"],
    {
      env: APT_ENV,
      timeoutMs: APT_TIMEOUT_MS,
    },
  );

  if (holds.length > 0) {
    const after = await packageStates(runner, "held-after", holds);
    const moved = holds.filter((p) => (before.get(p)?.version ?? "") !== (after.get(p)?.version ?? ""));
    if (moved.length > 0)
      throw checkFailed(
        "held-after",
        `held packages changed during the upgrade: ${moved.map((p) => `${p} ${before.get(p)?.version ?? "?"} -> ${after.get(p)?.version ?? "?"}`).join(", ")}`,
      );
  }

  const required = (await runner.run("reboot-required", ["test", "-e", REBOOT_REQUIRED], { okExitCodes: [0, 1] })).exitCode === 0;
  if (!required) {
    log("packages up to date; no reboot required");
    return "upgraded";
  }
  if (!opts.rebootIfRequired) {
    log(`${REBOOT_REQUIRED} exists but --reboot-if-required was not given: not rebooting`);
    return "reboot-required-not-rebooting";
  }
  log(`${REBOOT_REQUIRED} exists: rebooting; the retry after the reboot finds nothing left to do`);
  await runner.run("reboot", ["systemctl", "reboot"]);
  // The reboot ends this pod. Returning now would report success before the node has restarted.
  await deps.sleep(opts.rebootWaitMs);
  throw checkFailed("reboot", `the node is still up ${Math.round(opts.rebootWaitMs / 1000)}s after systemctl reboot`);
}
