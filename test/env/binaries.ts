import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const buildScript = fileURLToPath(new URL("./build-control-plane.sh", import.meta.url));

export const controlPlaneBinaries = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kubelet", "kwok"] as const;

/**
 * The directory holding the control-plane binaries, building them on first use (minutes on a
 * fresh machine, milliseconds when cached). PLAN_RUNNER_BIN_DIR points at ready binaries instead.
 * The build's progress goes to this process's stderr so a long first run is visibly alive.
 */
export async function ensureControlPlaneBinaries(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const preset = env["PLAN_RUNNER_BIN_DIR"];
  if (preset !== undefined && preset !== "") {
    const missing = controlPlaneBinaries.filter((b) => !existsSync(`${preset}/${b}`));
    if (missing.length > 0) throw new Error(`PLAN_RUNNER_BIN_DIR=${preset} lacks ${missing.join(", ")}`);
    return preset;
  }
  const child = spawn("bash", [buildScript], { stdio: ["ignore", "pipe", "inherit"], env });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  if (code !== 0) throw new Error(`${buildScript} failed with exit code ${code}; its messages are above`);
  const dir = out.trim().split("\n").at(-1) ?? "";
  if (!existsSync(`${dir}/kube-apiserver`)) throw new Error(`${buildScript} printed no usable bin dir: ${JSON.stringify(out)}`);
  return dir;
}
