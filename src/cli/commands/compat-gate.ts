import type { CliIO, Command } from "../io.ts";
import { BadInput, parseOptions, terminationMessage } from "../../executors/command-support.ts";
import { EXIT_GATE_ERROR, compatGate, formatReason, type ClusterReader, type DeprecatedApiReader } from "../../executors/compat-gate.ts";
import { MatrixError, loadMatrix } from "../../executors/compat-matrix.ts";
import { apiClusterReader, apiGetter, inClusterConfig, kubeconfigConfig } from "../../executors/kube-api.ts";
import { prometheusDeprecatedApis } from "../../executors/prometheus-reader.ts";
import { formatMinor, parseTargetMinor, versionParts } from "../../executors/versions.ts";

const DEFAULT_MATRIX = "/run/system-upgrade/secrets/compat-matrix/matrix.json";

const HELP = `usage: plan-runner compat-gate --target vX.Y[.Z] [options]

Is it safe to upgrade this cluster's Kubernetes to --target? Read-only. Prints one reason per
line, tagged ACTIONABLE (something can be done now), WAITING (no released addon supports the
target yet) or PINNED (an addon is deliberately held).

exit 0 safe · 2 blocked, actionable · 4 held (wins over actionable) · 3 the gate's own error

options:
  --target VERSION       the Kubernetes version to judge, e.g. $(SYSTEM_UPGRADE_PLAN_LATEST_VERSION)
  --matrix FILE          compat matrix, JSON or YAML (schemas/compat-matrix.schema.json), or the seed
                         pipeline's addon-compat.json as it is (recognised by its shape)
                         (env PLAN_RUNNER_COMPAT_MATRIX; default ${DEFAULT_MATRIX})
  --prometheus URL       Prometheus for apiserver_requested_deprecated_apis (env PLAN_RUNNER_PROMETHEUS_URL)
  --skip-removed-apis    do not check removed APIs (without it, no Prometheus means a block)
  --kubeconfig FILE      read the cluster with this kubeconfig instead of the pod's ServiceAccount
  --node NAME            the node to be upgraded: a target older than its kubelet is blocked (a downgrade)
                         (env SYSTEM_UPGRADE_NODE_NAME, set in every upgrade pod)`;

const OPTIONS = {
  target: { type: "string" },
  matrix: { type: "string" },
  prometheus: { type: "string" },
  "skip-removed-apis": { type: "boolean" },
  kubeconfig: { type: "string" },
  node: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** How the command reaches the cluster and Prometheus; tests pass their own. */
export interface GateSources {
  cluster(kubeconfig: string | undefined, env: CliIO["env"]): Promise<ClusterReader>;
  prometheus(url: string): DeprecatedApiReader;
}

const realSources: GateSources = {
  async cluster(kubeconfig, env) {
    const config = kubeconfig === undefined ? await inClusterConfig(env) : await kubeconfigConfig(kubeconfig);
    return apiClusterReader(apiGetter(config));
  },
  prometheus: (url) => prometheusDeprecatedApis(url),
};

const noPrometheus: DeprecatedApiReader = {
  deprecatedApisInUse: () => Promise.reject(new Error("no Prometheus URL given (--prometheus or PLAN_RUNNER_PROMETHEUS_URL)")),
};

export function compatGateCommand(sources: GateSources): Command {
  return async (argv, io) => {
    try {
      const { values } = parseOptions(argv, OPTIONS);
      if (values.help === true) {
        io.out(HELP);
        return 0;
      }
      if (values.target === undefined) throw new BadInput("--target is required (e.g. --target v1.35.2)");
      const target = parseTargetMinor(values.target);
      if (target === undefined) throw new BadInput(`bad target version "${values.target}": expected vX.Y or vX.Y.Z`);
      const matrix = await loadMatrix(values.matrix ?? io.env["PLAN_RUNNER_COMPAT_MATRIX"] ?? DEFAULT_MATRIX);
      const promUrl = values.prometheus ?? io.env["PLAN_RUNNER_PROMETHEUS_URL"];
      const deprecatedApis = values["skip-removed-apis"] === true ? null : promUrl === undefined ? noPrometheus : sources.prometheus(promUrl);
      const cluster = await sources.cluster(values.kubeconfig, io.env);
      const node = values.node ?? io.env["SYSTEM_UPGRADE_NODE_NAME"];
      const result = await compatGate({ cluster, deprecatedApis }, matrix, target, { version: versionParts(values.target) ?? target, node });

      const t = formatMinor(target);
      const running = result.running === undefined ? "unknown" : formatMinor(result.running);
      io.out(`compat-gate: target ${values.target} (minor ${t}), running minor ${running} (oldest kubelet)`);
      if (!result.addonsChecked) io.out(`compat-gate: target is not past the running minor: addon ceilings do not apply`);
      if (matrix.seedFormat === true)
        io.out("compat-gate: matrix in the seed pipeline's addon-compat.json format, read as it is (plan-runner matrix convert prints the plan-runner form)");
      if (deprecatedApis === null) io.out("compat-gate: removed-API check skipped (--skip-removed-apis)");
      for (const note of result.notes) io.out(`compat-gate: ${note}`);
      const lines = result.reasons.map(formatReason);
      for (const line of lines) io.out(line);
      if (lines.length === 0) io.out(`compat-gate OK: the cluster is safe to upgrade to ${values.target}`);
      await terminationMessage(lines.length === 0 ? "safe" : lines.join("\n"));
      return result.exitCode;
    } catch (e: unknown) {
      if (e instanceof BadInput || e instanceof MatrixError) {
        io.err(`plan-runner compat-gate: ${e.message}`);
        if (e instanceof BadInput) io.err("run plan-runner compat-gate --help for the options");
      } else {
        io.err(`plan-runner compat-gate: cannot judge the cluster: ${e instanceof Error ? e.message : String(e)}`);
      }
      await terminationMessage(`gate error: ${e instanceof Error ? e.message : String(e)}`);
      return EXIT_GATE_ERROR;
    }
  };
}

export const run: Command = compatGateCommand(realSources);
