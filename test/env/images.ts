import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const buildScript = fileURLToPath(new URL("../../scripts/build-image.sh", import.meta.url));

/** The name the upgrade image is imported under (an unqualified plan-runner/upgrade:X is docker.io/...). */
export const UPGRADE_IMAGE = "docker.io/plan-runner/upgrade:0.1.0";

/**
 * The OCI archives a real node imports: the upgrade image (the product, built from this checkout)
 * and the pause image. Built on first use by scripts/build-image.sh, cached by their inputs.
 * PLAN_RUNNER_NODE_IMAGES (archive paths, colon-separated) gives ready archives instead.
 */
export async function ensureNodeImages(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const preset = env["PLAN_RUNNER_NODE_IMAGES"];
  if (preset !== undefined && preset !== "") {
    const paths = preset.split(":");
    const missing = paths.filter((p) => !existsSync(p));
    if (missing.length > 0) throw new Error(`PLAN_RUNNER_NODE_IMAGES names archives that do not exist: ${missing.join(", ")}`);
    return paths;
  }
  return [await buildImage([]), await buildImage(["pause"])];
}

async function buildImage(args: string[]): Promise<string> {
  const child = spawn("bash", [buildScript, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  if (code !== 0) {
    // Inside the tests' network namespace there is no npm registry: a changed image cannot be built there.
    const hint =
      process.env["PLAN_RUNNER_NETNS"] !== undefined
        ? "; in the tests' network namespace only a cached image can be used: run scripts/setup.sh --all (or npm run image) first"
        : "";
    throw new Error(`${buildScript} ${args.join(" ")} failed with exit code ${code}; its messages are above${hint}`);
  }
  const archive = out.trim().split("\n").at(-1) ?? "";
  if (!existsSync(archive)) throw new Error(`${buildScript} ${args.join(" ")} printed no archive path: ${JSON.stringify(out)}`);
  return archive;
}
