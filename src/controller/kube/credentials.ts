// Where the API server is and how to prove who we are, read from a kubeconfig or the pod's
// service account. Written here rather than taken from client-node because loading
// client-node costs ~75 MiB of memory (it pulls in every generated API model), more than the
// whole controller otherwise needs; users of exec or auth-provider plugins still get
// client-node, loaded only then (kube/adapter.ts). The controller and the node-side commands
// (src/executors) both read their credentials here.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import { parse } from "yaml";

export interface Credentials {
  readonly server: URL;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly insecure: boolean;
  /** The name the server's certificate is checked against, when it is not the server's host (tls-server-name). */
  readonly tlsServerName?: string;
  /** An HTTP proxy to reach the server through (proxy-url). */
  readonly proxy?: URL;
  /** Current Authorization header (a projected service-account token rotates: re-read it). */
  readonly authorization: () => string | undefined;
  /** The kubeconfig user needs a plugin (exec, auth-provider) this module does not run. */
  readonly plugin?: { readonly kubeconfig: string };
}

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

type Doc = Record<string, unknown>;
interface Named {
  readonly name: string;
  readonly value: Doc;
  /** Relative file paths in the entry are relative to the file that defined it. */
  readonly base: string;
}

/** Several kubeconfig files merged as kubectl merges $KUBECONFIG: the first file to set a value wins. */
interface Merged {
  readonly currentContext: string | undefined;
  readonly contexts: Map<string, Named>;
  readonly clusters: Map<string, Named>;
  readonly users: Map<string, Named>;
  readonly first: string;
}

const obj = (v: unknown): Doc => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Doc) : {});
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

function tokenFrom(path: string): () => string | undefined {
  let cached: { at: number; value: string } | undefined;
  return () => {
    if (cached === undefined || Date.now() - cached.at > 60_000) cached = { at: Date.now(), value: readFileSync(path, "utf8").trim() };
    return `Bearer ${cached.value}`;
  };
}

/** The pod's own credentials, as every in-cluster client finds them. */
export function inClusterCredentials(env: NodeJS.ProcessEnv, saDir = SERVICE_ACCOUNT_DIR): Credentials {
  const host = env["KUBERNETES_SERVICE_HOST"] ?? "";
  const port = env["KUBERNETES_SERVICE_PORT"] ?? "443";
  return {
    server: new URL(`https://${host.includes(":") ? `[${host}]` : host}:${port}`),
    ca: readFileSync(join(saDir, "ca.crt")),
    insecure: false,
    authorization: tokenFrom(join(saDir, "token")),
  };
}

function mergeFiles(paths: readonly string[], explicit: boolean): Merged {
  const merged: Merged & { currentContext: string | undefined } = {
    currentContext: undefined,
    contexts: new Map(),
    clusters: new Map(),
    users: new Map(),
    first: paths[0] ?? "",
  };
  let read = 0;
  for (const path of paths) {
    let doc: Doc;
    try {
      doc = obj(parse(readFileSync(path, "utf8")));
    } catch (e: unknown) {
      // kubectl skips files of $KUBECONFIG that do not exist; a file named on purpose must.
      if (!explicit && paths.length > 1 && !existsSync(path)) continue;
      throw new Error(`cannot read kubeconfig ${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    read++;
    merged.currentContext ??= str(doc["current-context"]);
    for (const [list, field, into] of [
      ["contexts", "context", merged.contexts],
      ["clusters", "cluster", merged.clusters],
      ["users", "user", merged.users],
    ] as const) {
      for (const entry of (Array.isArray(doc[list]) ? doc[list] : []).map(obj)) {
        const name = typeof entry["name"] === "string" ? entry["name"] : undefined;
        if (name !== undefined && !into.has(name)) into.set(name, { name, value: obj(entry[field]), base: dirname(path) });
      }
    }
  }
  if (read === 0) throw new Error(`cannot read kubeconfig ${paths.join(delimiter)}: none of the files exists`);
  return merged;
}

function authorizationOf(user: Named): () => string | undefined {
  const u = user.value;
  const token = str(u["token"]);
  if (token !== undefined) return () => `Bearer ${token}`;
  const tokenFile = str(u["tokenFile"]);
  if (tokenFile !== undefined) return tokenFrom(isAbsolute(tokenFile) ? tokenFile : join(user.base, tokenFile));
  const username = str(u["username"]);
  if (username === undefined) return () => undefined;
  const header = `Basic ${Buffer.from(`${username}:${typeof u["password"] === "string" ? u["password"] : ""}`).toString("base64")}`;
  return () => header;
}

function credentialsOf(m: Merged): Credentials {
  const where = m.first;
  const ctx = m.currentContext === undefined ? undefined : m.contexts.get(m.currentContext)?.value;
  if (ctx === undefined) throw new Error(`kubeconfig ${where}: current-context ${m.currentContext ?? "(unset)"} not found`);
  const cluster = m.clusters.get(str(ctx["cluster"]) ?? "");
  const server = str(cluster?.value["server"]);
  if (cluster === undefined || server === undefined) throw new Error(`kubeconfig ${where}: cluster ${str(ctx["cluster"]) ?? "(unset)"} has no server`);
  const user: Named = m.users.get(str(ctx["user"]) ?? "") ?? { name: "", value: {}, base: cluster.base };
  const file = (n: Named, p: unknown): Buffer | undefined =>
    str(p) === undefined ? undefined : readFileSync(isAbsolute(p as string) ? (p as string) : join(n.base, p as string));
  const data = (d: unknown): Buffer | undefined => (str(d) === undefined ? undefined : Buffer.from(d as string, "base64"));
  const c = cluster.value;
  const u = user.value;
  const ca = data(c["certificate-authority-data"]) ?? file(cluster, c["certificate-authority"]);
  const cert = data(u["client-certificate-data"]) ?? file(user, u["client-certificate"]);
  const key = data(u["client-key-data"]) ?? file(user, u["client-key"]);
  const tlsServerName = str(c["tls-server-name"]);
  const proxy = str(c["proxy-url"]);
  return {
    server: new URL(server),
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    insecure: c["insecure-skip-tls-verify"] === true,
    ...(tlsServerName !== undefined ? { tlsServerName } : {}),
    ...(proxy !== undefined ? { proxy: new URL(proxy) } : {}),
    authorization: authorizationOf(user),
    ...(u["exec"] !== undefined || u["auth-provider"] !== undefined ? { plugin: { kubeconfig: where } } : {}),
  };
}

/**
 * The credentials for a kubeconfig path; without one, in-cluster when running in a pod, else
 * every file of $KUBECONFIG merged (as kubectl merges them), else ~/.kube/config.
 */
export function loadCredentials(kubeconfig?: string, env: NodeJS.ProcessEnv = process.env): Credentials {
  if (kubeconfig === undefined && env["KUBERNETES_SERVICE_HOST"] !== undefined && existsSync(join(SERVICE_ACCOUNT_DIR, "token")))
    return inClusterCredentials(env);
  const fromEnv = (env["KUBECONFIG"] ?? "").split(delimiter).filter((p) => p !== "");
  const paths = kubeconfig !== undefined ? [kubeconfig] : fromEnv.length > 0 ? fromEnv : [join(homedir(), ".kube", "config")];
  return credentialsOf(mergeFiles(paths, kubeconfig !== undefined));
}
