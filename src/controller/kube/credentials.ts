// Where the API server is and how to prove who we are, read from a kubeconfig or the pod's
// service account. Written here rather than taken from client-node because loading
// client-node costs ~75 MiB of memory (it pulls in every generated API model), more than the
// whole controller otherwise needs; users of exec or auth-provider plugins still get
// client-node, loaded only then (kube/adapter.ts).
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { parse } from "yaml";

export interface Credentials {
  readonly server: URL;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly insecure: boolean;
  /** Current Authorization header (a projected service-account token rotates: re-read it). */
  readonly authorization: () => string | undefined;
  /** The kubeconfig user needs a plugin (exec, auth-provider) this module does not run. */
  readonly plugin?: { readonly kubeconfig: string };
}

const SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

interface KubeconfigFile {
  "current-context"?: string;
  contexts?: Array<{ name: string; context?: { cluster?: string; user?: string } }>;
  clusters?: Array<{ name: string; cluster?: Record<string, unknown> }>;
  users?: Array<{ name: string; user?: Record<string, unknown> }>;
}

function tokenFrom(path: string): () => string | undefined {
  let cached: { at: number; value: string } | undefined;
  return () => {
    if (cached === undefined || Date.now() - cached.at > 60_000) cached = { at: Date.now(), value: readFileSync(path, "utf8").trim() };
    return `Bearer ${cached.value}`;
  };
}

function inCluster(env: NodeJS.ProcessEnv): Credentials {
  const host = env["KUBERNETES_SERVICE_HOST"] ?? "";
  const port = env["KUBERNETES_SERVICE_PORT"] ?? "443";
  return {
    server: new URL(`https://${host.includes(":") ? `[${host}]` : host}:${port}`),
    ca: readFileSync(join(SA_DIR, "ca.crt")),
    insecure: false,
    authorization: tokenFrom(join(SA_DIR, "token")),
  };
}

/**
 * The credentials for a kubeconfig path; without one, in-cluster when running in a pod, else
 * $KUBECONFIG (its first file) or ~/.kube/config, as kubectl looks.
 */
export function loadCredentials(kubeconfig?: string, env: NodeJS.ProcessEnv = process.env): Credentials {
  if (kubeconfig === undefined && env["KUBERNETES_SERVICE_HOST"] !== undefined && existsSync(join(SA_DIR, "token"))) return inCluster(env);
  const path = kubeconfig ?? env["KUBECONFIG"]?.split(":").find((p) => p !== "") ?? join(homedir(), ".kube", "config");
  let doc: KubeconfigFile;
  try {
    doc = parse(readFileSync(path, "utf8")) as KubeconfigFile;
  } catch (e: unknown) {
    throw new Error(`cannot read kubeconfig ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const ctxName = doc["current-context"];
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context;
  if (ctx === undefined) throw new Error(`kubeconfig ${path}: current-context ${ctxName ?? "(unset)"} not found`);
  const cluster = doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (cluster === undefined || typeof cluster["server"] !== "string") throw new Error(`kubeconfig ${path}: cluster ${ctx.cluster ?? "(unset)"} has no server`);
  const user = doc.users?.find((u) => u.name === ctx.user)?.user ?? {};
  const base = dirname(path);
  const file = (p: unknown): Buffer | undefined => (typeof p === "string" && p !== "" ? readFileSync(isAbsolute(p) ? p : join(base, p)) : undefined);
  const data = (d: unknown): Buffer | undefined => (typeof d === "string" && d !== "" ? Buffer.from(d, "base64") : undefined);
  const ca = data(cluster["certificate-authority-data"]) ?? file(cluster["certificate-authority"]);
  const cert = data(user["client-certificate-data"]) ?? file(user["client-certificate"]);
  const key = data(user["client-key-data"]) ?? file(user["client-key"]);
  let authorization: () => string | undefined = () => undefined;
  if (typeof user["token"] === "string" && user["token"] !== "") {
    const header = `Bearer ${user["token"]}`;
    authorization = () => header;
  } else if (typeof user["tokenFile"] === "string") {
    authorization = tokenFrom(isAbsolute(user["tokenFile"]) ? user["tokenFile"] : join(base, user["tokenFile"]));
  } else if (typeof user["username"] === "string") {
    const header = `Basic ${Buffer.from(`${user["username"]}:${typeof user["password"] === "string" ? user["password"] : ""}`).toString("base64")}`;
    authorization = () => header;
  }
  return {
    server: new URL(cluster["server"]),
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(key !== undefined ? { key } : {}),
    insecure: cluster["insecure-skip-tls-verify"] === true,
    authorization,
    ...(user["exec"] !== undefined || user["auth-provider"] !== undefined ? { plugin: { kubeconfig: path } } : {}),
  };
}
