import { KubeAdapter } from "../../controller/kube/adapter.ts";
import { type Kube, KubeError, resources } from "../../controller/kube/ports.ts";
import { ANNOTATION_RETRY, annotationRetry } from "../../controller/rollout/keys.ts";
import type { PlanObject } from "../../controller/wiring/reconciler.ts";
import { type CliIO, type Command, EXIT_INVALID, EXIT_USAGE, parseCommandLine } from "../io.ts";

const HELP = `usage: plan-runner retry PLAN [NODE] [--namespace NS] [--kubeconfig FILE]

Retry the nodes of a Plan that failed for good (a Halted Plan, or failures it skipped), once,
after you mended the cause. The Plan's spec stays as it is in git.

  PLAN               retry every node of the Plan that failed: sets the annotation
                     ${ANNOTATION_RETRY}=<now> on the Plan
  NODE               retry only that node: sets ${annotationRetry("PLAN")}=<now> on the node
  -n, --namespace NS the Plan's namespace (default: $POD_NAMESPACE, else system-upgrade)
  --kubeconfig FILE  credentials (default: $KUBECONFIG, else in-cluster)
  -h, --help         this text

With GitOps, put the annotation in the Plan's file instead: any new value retries once.
The controller records each value it applied in the Plan's status.retry and says what it
did in a RetryRequested Event (kubectl get events -n NS). Exit 0 once the annotation is
written, 1 if the Plan or the node does not exist, 2 on a wrong command line.`;

class Missing extends Error {}

async function mustExist(what: string, get: () => Promise<unknown>): Promise<void> {
  try {
    await get();
  } catch (e: unknown) {
    if (e instanceof KubeError && e.notFound) throw new Missing(`${what} not found`);
    throw e;
  }
}

async function annotate(kube: Kube, namespace: string, plan: string, node: string | undefined, token: string): Promise<string> {
  // Both must exist: a retry of a misspelt name would otherwise wait for ever, silently.
  await mustExist(`Plan ${namespace}/${plan}`, () => kube.get<PlanObject>(resources.plans, namespace, plan));
  if (node === undefined) {
    await kube.patch(resources.plans, namespace, plan, { metadata: { annotations: { [ANNOTATION_RETRY]: token } } });
    return `Plan ${namespace}/${plan} annotated ${ANNOTATION_RETRY}=${token}: every node that failed starts again`;
  }
  await mustExist(`node ${node}`, () => kube.get(resources.nodes, undefined, node));
  await kube.patch(resources.nodes, undefined, node, { metadata: { annotations: { [annotationRetry(plan)]: token } } });
  return `node ${node} annotated ${annotationRetry(plan)}=${token}: it starts again under Plan ${namespace}/${plan}`;
}

export const run: Command = async (argv: readonly string[], io: CliIO) => {
  const parsed = parseCommandLine(
    argv,
    { kubeconfig: { type: "string" }, namespace: { type: "string", short: "n" }, help: { type: "boolean", short: "h" } },
    HELP,
    io,
    true,
  );
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const [plan, node, ...extra] = positionals;
  if (plan === undefined || extra.length > 0) {
    io.err(`plan-runner retry: ${plan === undefined ? "name the Plan to retry" : "at most one PLAN and one NODE"}\n${HELP}`);
    return EXIT_USAGE;
  }
  const namespace = values.namespace ?? io.env["POD_NAMESPACE"] ?? "system-upgrade";
  let kube: KubeAdapter;
  try {
    kube = new KubeAdapter({ kubeconfig: values.kubeconfig ?? io.env["KUBECONFIG"] });
  } catch (e: unknown) {
    io.err(`plan-runner retry: cannot load cluster credentials: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT_USAGE;
  }
  try {
    io.out(await annotate(kube, namespace, plan, node, new Date().toISOString()));
    io.out(`the controller applies it once; kubectl get events -n ${namespace} --field-selector reason=RetryRequested shows what it did`);
    return 0;
  } catch (e: unknown) {
    io.err(`plan-runner retry: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT_INVALID;
  }
};
