// The removed-API check against a real Prometheus (Debian's package), scraping a tiny endpoint
// that serves apiserver_requested_deprecated_apis as an API server would.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { bufferIO } from "../../src/cli/io.ts";
import { compatGateCommand } from "../../src/cli/commands/compat-gate.ts";
import { compatGate, formatReason } from "../../src/executors/compat-gate.ts";
import { prometheusDeprecatedApis } from "../../src/executors/prometheus-reader.ts";
import { FakeCluster, aMatrix, aNode } from "../fixtures/executors/gate-builders.ts";
import { freePort, requirePrerequisites, waitFor } from "../fixtures/executors/prerequisites.ts";

const METRICS = `# HELP apiserver_requested_deprecated_apis [STABLE] Gauge of deprecated APIs that have been requested, broken out by API group, version, resource, subresource, and removed_release.
# TYPE apiserver_requested_deprecated_apis gauge
apiserver_requested_deprecated_apis{group="batch",removed_release="1.25",resource="cronjobs",subresource="",version="v1beta1"} 1
apiserver_requested_deprecated_apis{group="flowcontrol.apiserver.k8s.io",removed_release="1.32",resource="flowschemas",subresource="",version="v1beta3"} 1
apiserver_requested_deprecated_apis{group="",removed_release="",resource="componentstatuses",subresource="",version="v1"} 1
# HELP apiserver_request_total A counter of requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",verb="GET"} 42
`;

let dir = "";
let metrics: Server | undefined;
let prometheus: ChildProcess | undefined;
let promUrl = "";
let promLog = "";

async function stopPrometheus(): Promise<void> {
  const p = prometheus;
  if (p === undefined || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.once("exit", () => resolve()));
  p.kill("SIGTERM");
  const deadlineKill = setTimeout(() => p.kill("SIGKILL"), 10_000); // escalate if SIGTERM is ignored
  await exited;
  clearTimeout(deadlineKill);
}

before(async () => {
  const { tools } = await requirePrerequisites({ tools: ["prometheus"] });
  dir = await mkdtemp(join(tmpdir(), "executors-prometheus-"));
  metrics = createServer((req, res) => {
    if (req.url === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
      res.end(METRICS);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => metrics?.listen(0, "127.0.0.1", resolve));
  const addr = metrics.address();
  const metricsPort = typeof addr === "object" && addr !== null ? addr.port : 0;
  await writeFile(
    join(dir, "prometheus.yml"),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: apiserver\n    static_configs:\n      - targets: ["127.0.0.1:${metricsPort}"]\n`,
  );
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    tools["prometheus"] as string,
    [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  prometheus.stdout?.on("data", (c: Buffer) => (promLog += c.toString()));
  prometheus.stderr?.on("data", (c: Buffer) => (promLog += c.toString()));
  // Ready once a query sees both removed APIs from a scrape.
  await waitFor(`Prometheus on ${promUrl} to have scraped the metric (log: ${promLog.slice(-500)})`, 60_000, async () => {
    if (prometheus?.exitCode !== null) throw new Error(`prometheus exited with ${prometheus?.exitCode}: ${promLog.slice(-500)}`);
    const apis = await prometheusDeprecatedApis(promUrl, 2_000).deprecatedApisInUse();
    return apis.length >= 3 ? apis : undefined;
  });
});

after(async () => {
  await stopPrometheus();
  await new Promise<void>((resolve) => (metrics === undefined ? resolve() : metrics.close(() => resolve())));
  if (dir !== "") await rm(dir, { recursive: true, force: true });
});

const cluster = () => new FakeCluster().withNodes(aNode("cp", "v1.30.4"));

describe("removed-API check against a real Prometheus", () => {
  test("the reader returns every series with its labels", async () => {
    const apis = await prometheusDeprecatedApis(promUrl).deprecatedApisInUse();
    assert.deepEqual(apis.map((a) => `${a.group}/${a.version}/${a.resource}@${a.removedRelease}`).sort(), [
      "/v1/componentstatuses@",
      "batch/v1beta1/cronjobs@1.25",
      "flowcontrol.apiserver.k8s.io/v1beta3/flowschemas@1.32",
    ]);
  });

  const cases: { target: string; expect: string[]; exit: number }[] = [
    { target: "1.24", expect: [], exit: 0 },
    { target: "1.31", expect: ["batch/v1beta1 cronjobs"], exit: 2 },
    { target: "1.32", expect: ["batch/v1beta1 cronjobs", "flowcontrol.apiserver.k8s.io/v1beta3 flowschemas"], exit: 2 },
  ];
  for (const c of cases) {
    test(`target ${c.target}: ${c.expect.length === 0 ? "nothing removed in use" : c.expect.join(", ")}`, async () => {
      const r = await compatGate({ cluster: cluster(), deprecatedApis: prometheusDeprecatedApis(promUrl) }, aMatrix([]), [1, Number(c.target.split(".")[1])]);
      assert.deepEqual(
        r.reasons.map((x) => /deprecated API (\S+ \S+) is still requested/.exec(x.message)?.[1]),
        c.expect,
      );
      assert.ok(r.reasons.every((x) => x.tag === "ACTIONABLE"));
      assert.equal(r.exitCode, c.exit);
    });
  }

  test("the command end to end: --prometheus URL, exit 2 and the reasons printed", async () => {
    const io = bufferIO();
    const matrix = join(dir, "matrix.json");
    await writeFile(matrix, JSON.stringify({ addons: [] }));
    const command = compatGateCommand({ cluster: () => Promise.resolve(cluster()), prometheus: (url) => prometheusDeprecatedApis(url) });
    const code = await command(["--target", "v1.32.0", "--matrix", matrix, "--prometheus", promUrl], io);
    assert.equal(code, 2, io.stderr());
    assert.match(
      io.stdout(),
      /^\[ACTIONABLE\] deprecated API flowcontrol\.apiserver\.k8s\.io\/v1beta3 flowschemas is still requested and is removed in Kubernetes 1\.32 \(target 1\.32\)/m,
    );
  });

  test("a Prometheus that is not there blocks, actionable (fail-safe)", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const r = await compatGate({ cluster: cluster(), deprecatedApis: prometheusDeprecatedApis(closed, 5_000) }, aMatrix([]), [1, 31]);
    assert.equal(r.exitCode, 2);
    assert.match(
      formatReason(r.reasons[0] ?? { tag: "ACTIONABLE", message: "" }),
      /^\[ACTIONABLE\] removed-API check could not query Prometheus \(http:\/\/127\.0\.0\.1:\d+: fetch failed: connect ECONNREFUSED/,
    );
  });

  test("something that is not Prometheus blocks too", async () => {
    const addr = metrics?.address();
    const notProm = `http://127.0.0.1:${typeof addr === "object" && addr !== null ? addr.port : 0}`;
    const r = await compatGate({ cluster: cluster(), deprecatedApis: prometheusDeprecatedApis(notProm) }, aMatrix([]), [1, 31]);
    assert.equal(r.exitCode, 2);
    assert.match(r.reasons[0]?.message ?? "", /answered HTTP 404 with something that is not JSON/);
  });
});
