// Starts a one-node control plane, prints {dir, pids} as one JSON line and keeps running until
// killed. The lifecycle test kills it with various signals to prove nothing is left behind.
import { startControlPlane } from "./control-plane.ts";

const cp = await startControlPlane({ nodes: 1 });
process.stdout.write(`${JSON.stringify({ dir: cp.dir, pids: cp.components.map((c) => c.pid) })}\n`);
setInterval(() => undefined, 60_000);
