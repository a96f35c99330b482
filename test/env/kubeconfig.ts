import { writeFileSync } from "node:fs";
import { stringify } from "yaml";

export interface KubeconfigInput {
  server: string;
  /** PEM bundle that verifies the API server's serving certificate. */
  caPem: string;
  user: string;
  token: string;
  contextName?: string;
}

/** A one-cluster, one-user kubeconfig (mode 0600: it holds a bearer token). */
export function writeKubeconfig(path: string, k: KubeconfigInput): void {
  const name = k.contextName ?? "plan-runner-test";
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name,
        cluster: { server: k.server, "certificate-authority-data": Buffer.from(k.caPem).toString("base64") },
      },
    ],
    users: [{ name: k.user, user: { token: k.token } }],
    contexts: [{ name, context: { cluster: name, user: k.user } }],
    "current-context": name,
    preferences: {},
  };
  writeFileSync(path, stringify(doc), { mode: 0o600 });
}
