// npm run cluster:up / cluster:down: a local control plane (1 control-plane node, 4 workers)
// for people, in ./.cluster/, that outlives this command. Both commands are idempotent.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureControlPlaneBinaries } from "../test/env/binaries.ts";
import { runningControlPlaneAt, startControlPlane, stopControlPlaneAt } from "../test/env/control-plane.ts";

const dir = resolve(fileURLToPath(new URL("../.cluster", import.meta.url)));
const say = (line: string): void => void process.stderr.write(`[cluster] ${line}\n`);

function printAccess(kubeconfigPath: string, binDir: string): void {
  process.stdout.write(
    [`kubeconfig: ${kubeconfigPath}`, `export KUBECONFIG=${kubeconfigPath}`, `kubectl (same version as the cluster): ${binDir}/kubectl`, ""].join("\n"),
  );
}

async function up(): Promise<number> {
  const running = runningControlPlaneAt(dir);
  if (running) {
    say(`already running (started ${running.startedAt}, API server ${running.server})`);
    printAccess(running.kubeconfigPath, running.binDir);
    return 0;
  }
  // A crashed or half-stopped cluster leaves state behind: clear it before starting afresh.
  if (await stopControlPlaneAt(dir)) say("removed the remains of a previous cluster");
  const binDir = await ensureControlPlaneBinaries();
  const t0 = Date.now();
  const cp = await startControlPlane({ nodes: 5, controlPlaneNodes: 1, dir, binDir, detached: true, log: say });
  say(`up in ${((Date.now() - t0) / 1000).toFixed(1)}s; pids: ${cp.components.map((c) => `${c.name}=${c.pid}`).join(" ")}`);
  say("stop it with: npm run cluster:down");
  printAccess(cp.kubeconfigPath, cp.binDir);
  return 0;
}

async function down(): Promise<number> {
  const stopped = await stopControlPlaneAt(dir);
  say(stopped ? `stopped; removed ${dir}` : "no cluster was running");
  return 0;
}

const commands: Record<string, () => Promise<number>> = { up, down };
const command = commands[process.argv[2] ?? ""];
if (command === undefined) {
  say("usage: tsx scripts/cluster.ts up|down");
  process.exit(2);
}
try {
  // Exit explicitly: the API client's keep-alive sockets would otherwise hold the process open.
  process.exit(await command());
} catch (e: unknown) {
  say(e instanceof Error ? e.message : String(e));
  process.exit(1);
}
