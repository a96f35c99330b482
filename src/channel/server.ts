// plan-runner channel-server: SUC's channel protocol (reference: a GET answered by a redirect
// whose Location's last path segment is the version), so SUC and plan-runner Plans can both
// point spec.channel here. Errors are one plain line with 502, and logged: the controller turns
// them into LatestResolved=False and keeps the last version it had.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../controller/wiring/log.ts";
import type { PackageIndex } from "./package-index.ts";
import { kubeletRelease, minorOfRelease, nextMinor, runningRange, selectRelease, type Selection } from "./release-selection.ts";
import { PERIODS, isPeriod, windowValue } from "./schedule.ts";

export interface ChannelServerDeps {
  /** Every node's kubelet version, read from the API (list nodes; read-only). */
  readonly kubelets: () => Promise<string[]>;
  readonly index: PackageIndex;
  readonly log: Logger;
  readonly now?: () => Date;
}

/** The `kubernetes` channel's answer: the nodes, then the two indexes the rules need (cached). */
export async function kubernetesAnswer(deps: ChannelServerDeps): Promise<Selection> {
  let kubelets: string[];
  try {
    kubelets = await deps.kubelets();
  } catch (e: unknown) {
    return { error: `cannot read the nodes: ${e instanceof Error ? e.message : String(e)}` };
  }
  const range = runningRange(kubelets);
  if ("error" in range) return range;
  const running = minorOfRelease(range.oldest);
  const [current, next] = await Promise.all([deps.index.lookup(running), deps.index.lookup(nextMinor(running))]);
  return selectRelease(kubelets, current, next);
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers });
  res.end(`${body}\n`);
}

const redirect = (res: ServerResponse, channel: string, version: string): void =>
  send(res, 302, version, { location: `/${channel}/${encodeURIComponent(version)}` });

async function route(deps: ChannelServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? "/", "http://channel").pathname.replace(/\/+$/, "");
  const parts = path.split("/").filter((p) => p !== "");
  if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, "only GET");
  if (path === "/healthz") return send(res, 200, "ok");
  // The version pages the redirects point at: a client that follows the redirect gets a 200.
  if (parts.length === 3 && parts[0] === "schedule" && isPeriod(parts[1] ?? "")) return send(res, 200, parts[2] as string);
  if (parts.length === 2 && parts[0] === "kubernetes" && kubeletRelease(parts[1] ?? "") !== undefined) return send(res, 200, parts[1] as string);
  if (parts[0] === "schedule" && parts.length === 2) {
    const period = parts[1] ?? "";
    if (!isPeriod(period)) return send(res, 404, `unknown schedule "${period}": use one of ${PERIODS.join(", ")}`);
    return redirect(res, `schedule/${period}`, windowValue(period, (deps.now ?? (() => new Date()))()));
  }
  if (path === "/kubernetes") {
    const answer = await kubernetesAnswer(deps);
    if ("error" in answer) {
      deps.log.warn("channel error", { channel: "kubernetes", reason: answer.error });
      return send(res, 502, answer.error.replaceAll(/\s*\n\s*/g, " "));
    }
    deps.log.info("channel answer", { channel: "kubernetes", version: answer.version, why: answer.why });
    return redirect(res, "kubernetes", answer.version);
  }
  return send(res, 404, `no channel at ${path || "/"}: use /kubernetes or /schedule/{${PERIODS.join(",")}}`);
}

export interface RunningChannelServer {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

/** Listens on host:port (port 0: any free one) and serves until closed. */
export async function startChannelServer(deps: ChannelServerDeps, host: string, port: number): Promise<RunningChannelServer> {
  const server = createServer((req, res) => {
    route(deps, req, res).catch((e: unknown) => {
      deps.log.error("channel request failed", { error: e instanceof Error ? e.message : String(e) });
      if (!res.headersSent) send(res, 502, `internal error: ${e instanceof Error ? e.message : String(e)}`);
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${shown}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
