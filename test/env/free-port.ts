import { createServer } from "node:net";
import type { AddressInfo, Server } from "node:net";

/**
 * Ports the kernel calls free right now on 127.0.0.1. All are held open together until every one
 * is known, so one call never returns the same port twice; another process can still take one
 * before the component binds it, which is why startControlPlane retries on "address in use".
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
      });
    }
    return servers.map((s) => (s.address() as AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
