import { readFileSync } from "node:fs";
import { type CliIO, type Command, EXIT_USAGE, processIO } from "./io.ts";

/** Each command lives in its own module, loaded only when asked for. */
const commands: Record<string, { summary: string; load: () => Promise<{ run: Command }> }> = {
  validate: { summary: "check Plan files against the schema and the rules the controller enforces", load: () => import("./commands/validate.ts") },
  plan: { summary: "dry run: which nodes, in which order, and the pods a Plan would create", load: () => import("./commands/plan.ts") },
  controller: { summary: "run the controller (in-cluster or --kubeconfig)", load: () => import("./commands/controller.ts") },
  "channel-server": {
    summary: "serve release channels (SUC's protocol): /kubernetes, the next release for this cluster; /schedule/weekly",
    load: () => import("./commands/channel-server.ts"),
  },
  status: { summary: "progress of Plans and their nodes [--watch]", load: () => import("./commands/status.ts") },
  retry: {
    summary: "retry PLAN [NODE]: start the nodes that failed for good again, once (an annotation, recorded in an Event)",
    load: () => import("./commands/retry.ts"),
  },
  report: {
    summary: "one headline per Plan (complete, applying, HELD with reasons, blocked, halted), for a CronJob or a notification",
    load: () => import("./commands/report.ts"),
  },
  "compat-gate": {
    summary: "node side: is it safe to upgrade to --target? exit 0 safe, 2 actionable, 4 held, 3 error",
    load: () => import("./commands/compat-gate.ts"),
  },
  matrix: { summary: "matrix convert FILE: the seed's addon-compat.json in plan-runner's compat matrix format", load: () => import("./commands/matrix.ts") },
  "kubeadm-upgrade": {
    summary: "node side: upgrade kubeadm, the control plane or node config, kubelet and kubectl",
    load: () => import("./commands/kubeadm-upgrade.ts"),
  },
  "etcd-snapshot": { summary: "node side: snapshot etcd before a control-plane upgrade", load: () => import("./commands/etcd-snapshot.ts") },
  "os-upgrade": { summary: "node side: apt upgrade honouring held packages, reboot when required", load: () => import("./commands/os-upgrade.ts") },
};

/**
 * The package's version, read from package.json at call time: src/cli/ and dist/cli/ sit at the
 * same depth, so the same relative URL works in a checkout and in the image.
 */
export function packageVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  const version = typeof pkg === "object" && pkg !== null && "version" in pkg ? pkg.version : undefined;
  if (typeof version !== "string") throw new Error("package.json has no version");
  return version;
}

function usage(io: CliIO): void {
  io.err("usage: plan-runner <command> [options]\n\ncommands:");
  for (const [name, c] of Object.entries(commands)) io.err(`  ${name.padEnd(16)} ${c.summary}`);
  io.err("\nplan-runner <command> --help for a command's options; plan-runner --version");
}

export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    usage(io);
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === "--version") {
    io.out(packageVersion());
    return 0;
  }
  const entry = commands[name];
  if (entry === undefined) {
    io.err(`plan-runner: unknown command "${name}"`);
    usage(io);
    return EXIT_USAGE;
  }
  let mod: { run: Command };
  try {
    mod = await entry.load();
  } catch (e: unknown) {
    if (e instanceof Error && "code" in e && e.code === "ERR_MODULE_NOT_FOUND") {
      io.err(`plan-runner: command "${name}" is not built yet`);
      return EXIT_USAGE;
    }
    throw e;
  }
  return mod.run(rest, io);
}
