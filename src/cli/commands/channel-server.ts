import { DEFAULT_REPOSITORY_BASE, PackageIndex } from "../../channel/package-index.ts";
import { startChannelServer } from "../../channel/server.ts";
import { jsonLogger } from "../../controller/wiring/log.ts";
import { BadInput, parseOptions } from "../../executors/command-support.ts";
import { apiClusterReader, apiGetter, inClusterConfig, kubeconfigConfig } from "../../executors/kube-api.ts";
import { parseGoDuration } from "../../plan/duration.ts";
import { type Command, EXIT_USAGE } from "../io.ts";

const HELP = `usage: plan-runner channel-server [options]

Serves release channels in SUC's protocol: GET answers 302, the last element of the Location
path is the version. Point a Plan's spec.channel at one of:

  /kubernetes        the next Kubernetes release for this cluster: the newest patch of the
                     oldest kubelet's minor if newer, else the newest patch of the next minor once
                     its package repository publishes kubeadm, else what runs (never skips a minor)
  /schedule/daily    a new value each UTC day (2026-11-30), week (2026-w49) or month (2026-11),
  /schedule/weekly   for Plans that should run again periodically
  /schedule/monthly

Errors are 502 with one line saying why. Reads nodes (list, read-only) and the package indexes.

options:
  --listen HOST:PORT       (default :8080)
  --repository-base URL    one Debian repository per minor under it, <base>/v1.X/deb/Packages; or a
                           URL with {minor} where vX.Y goes (default ${DEFAULT_REPOSITORY_BASE})
  --cache-ttl D            fetch each minor's index at most once per D (default 10m)
  --timeout D              for one index fetch (default 20s)
  --kubeconfig FILE        read nodes with this kubeconfig (default: the pod's ServiceAccount)`;

const OPTIONS = {
  listen: { type: "string", default: ":8080" },
  "repository-base": { type: "string", default: DEFAULT_REPOSITORY_BASE },
  "cache-ttl": { type: "string", default: "10m" },
  timeout: { type: "string", default: "20s" },
  kubeconfig: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function duration(flag: string, text: string): number {
  const r = parseGoDuration(text);
  if (!r.ok || r.ms <= 0) throw new BadInput(`--${flag}: "${text}" is not a positive duration`);
  return r.ms;
}

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(text);
  if (m === null) throw new BadInput(`--listen: "${text}" is not HOST:PORT`);
  const host = (m[1] ?? "").replace(/^\[(.*)\]$/, "$1");
  return { host: host === "" ? "0.0.0.0" : host, port: Number(m[2]) };
}

export const run: Command = async (argv, io) => {
  let values;
  try {
    ({ values } = parseOptions(argv, OPTIONS));
    if (values.help === true) {
      io.out(HELP);
      return 0;
    }
    new URL(values["repository-base"].replaceAll("{minor}", "v1.0"));
  } catch (e: unknown) {
    io.err(`plan-runner channel-server: ${e instanceof Error ? e.message : String(e)}\nrun plan-runner channel-server --help for the options`);
    return EXIT_USAGE;
  }
  const log = jsonLogger((line) => io.err(line), { component: "channel-server" });
  try {
    const { host, port } = parseListen(values.listen);
    const index = new PackageIndex({
      base: values["repository-base"],
      ttlMs: duration("cache-ttl", values["cache-ttl"]),
      timeoutMs: duration("timeout", values.timeout),
    });
    const config = values.kubeconfig === undefined ? await inClusterConfig(io.env) : await kubeconfigConfig(values.kubeconfig);
    const cluster = apiClusterReader(apiGetter(config));
    const kubelets = async () => (await cluster.listNodes()).map((n) => n.kubeletVersion);
    const server = await startChannelServer({ kubelets, index, log }, host, port);
    log.info("listening", { url: server.url, repositoryBase: values["repository-base"] });
    const why = await new Promise<string>((resolve) => {
      process.once("SIGTERM", () => resolve("SIGTERM"));
      process.once("SIGINT", () => resolve("SIGINT"));
    });
    log.info("stopping", { why });
    await server.close();
    return 0;
  } catch (e: unknown) {
    io.err(`plan-runner channel-server: ${e instanceof Error ? e.message : String(e)}`);
    return e instanceof BadInput ? EXIT_USAGE : 1;
  }
};
