import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export interface ProbeResult {
  status: number;
  body: string;
}

/**
 * A GET for readiness probes of local components. TLS is not verified: the API server's serving
 * certificate does not exist until it starts, and the probe only asks "are you up", while every
 * real client verifies it through the kubeconfig's CA.
 */
export function probe(url: string, token?: string, timeoutMs = 2000): Promise<ProbeResult> {
  const u = new URL(url);
  const request = u.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      {
        method: "GET",
        rejectUnauthorized: false,
        timeout: timeoutMs,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs}ms`)));
    req.on("error", reject);
    req.end();
  });
}
