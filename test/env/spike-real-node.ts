import { startControlPlane } from "./control-plane.ts";
const images = process.argv.slice(2);
const cp = await startControlPlane({ nodes: 1, log: (l) => console.error(l), keepDir: true });
try {
  const t0 = Date.now();
  const n = await cp.addRealNode({ name: "real-1", images });
  console.error(`real node ready in ${Date.now() - t0}ms at ${n.ip}`);
  const r = await cp.kubectl(["get", "nodes", "-o", "wide"]);
  console.error(r.stdout, r.stderr);
} finally {
  await cp.stop();
}
