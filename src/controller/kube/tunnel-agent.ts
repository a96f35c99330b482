import { request as httpRequest } from "node:http";
import { Agent, type AgentOptions } from "node:https";
import type { Duplex } from "node:stream";
import { type ConnectionOptions, connect as tlsConnect } from "node:tls";

/** HTTPS through an HTTP proxy (kubeconfig proxy-url): a CONNECT tunnel, then TLS inside it. */
export class TunnelAgent extends Agent {
  constructor(
    private readonly proxy: URL,
    opts: AgentOptions,
  ) {
    super(opts);
  }

  override createConnection(options: ConnectionOptions, callback: (err: Error | null, socket?: Duplex) => void): undefined {
    const target = `${options.host ?? ""}:${options.port ?? 443}`;
    const auth =
      this.proxy.username !== ""
        ? {
            "Proxy-Authorization": `Basic ${Buffer.from(`${decodeURIComponent(this.proxy.username)}:${decodeURIComponent(this.proxy.password)}`).toString("base64")}`,
          }
        : {};
    const req = httpRequest({
      host: this.proxy.hostname,
      port: this.proxy.port === "" ? 80 : Number(this.proxy.port),
      method: "CONNECT",
      path: target,
      headers: { Host: target, ...auth },
    });
    req.once("connect", (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        callback(new Error(`proxy ${this.proxy.host} refused CONNECT ${target}: HTTP ${res.statusCode ?? 0}`));
        return;
      }
      callback(null, tlsConnect({ ...options, socket }));
    });
    req.once("error", (e) => callback(e));
    req.end();
    return undefined;
  }
}
