// Channels that lie or hang (issue 9, item 8), against a real API server: a channel's answer is a
// version only if it can be an image tag and a label value, every other answer is told as
// LatestResolved=False naming the channel, and channels that never answer hold up no other Plan.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { resources } from "../../src/controller/kube/ports.ts";
import type { KubeObject, Pod } from "../../src/controller/rollout/objects.ts";
import type { PlanObject } from "../../src/controller/wiring/reconciler.ts";
import { waitFor } from "../env/wait.ts";
import { type Env, type RunningController, aPlan, applyPlan, condition, listPods, optIn, runController, startEnv, waitForPlan } from "./controller-env.ts";

interface CoreEvent extends KubeObject {
  involvedObject: { kind?: string; name?: string };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
}

/** A channel that answers each path as the test says, counts the requests, and keeps the hanging ones open. */
class ChannelStub {
  readonly answers = new Map<string, (res: ServerResponse) => void>();
  readonly asked = new Map<string, number>();
  /** Requests on /hang-* that arrived and were never answered, until their socket closes. */
  readonly open = new Set<string>();
  private readonly server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? "";
    this.asked.set(path, (this.asked.get(path) ?? 0) + 1);
    if (path.startsWith("/hang-")) {
      this.open.add(path);
      res.on("close", () => this.open.delete(path));
      return; // accepted, read, never answered
    }
    const answer = this.answers.get(path);
    if (answer !== undefined) answer(res);
    else res.writeHead(404).end();
  });
  url = "";

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

let env: Env;
let workers: string[];
const stub = new ChannelStub();
const LABEL = "test.plan-runner.dev/channel-faults";
const selectNone = { matchLabels: { "test.plan-runner.dev/none": "yes" } };

before(async () => {
  env = await startEnv(3, 1);
  workers = (await env.kube.list(resources.nodes, undefined)).items.map((n) => n.metadata.name).filter((n) => n.startsWith("worker"));
  await stub.start();
});
after(async () => {
  stub.stop();
  await env?.stop();
});

/** A namespace and a controller of its own for each group, so no Plan of one holds up the other's. */
function controllerFor(prefix: string): { ns: () => string } {
  let ns = "";
  let ctl: RunningController | undefined;
  before(async () => {
    ns = await env.cp.createNamespace(prefix);
    // The channel's timeout outlasts every deadline below: a hanging channel stays hanging for the whole test.
    ctl = await runController(env, ns, { channelTimeoutMs: 120_000 });
  });
  after(async () => ctl?.stop());
  return { ns: () => ns };
}

const channelPlan = (ns: string, name: string, path: string, nodeSelector: object = selectNone): PlanObject => {
  const p = aPlan(ns, name, { channel: `${stub.url}${path}`, nodeSelector });
  delete p.spec.version;
  return p;
};

const applyPods = async (ns: string, plan: string): Promise<Pod[]> =>
  (await listPods(env, ns)).filter((p) => p.metadata.labels?.["plan-runner.dev/role"] === "apply" && p.metadata.labels["upgrade.cattle.io/plan"] === plan);

async function eventsOn(ns: string, plan: string, reason: string): Promise<CoreEvent[]> {
  const items = (await env.kube.list<CoreEvent>(resources.events, ns)).items;
  return items.filter((e) => e.involvedObject.kind === "Plan" && e.involvedObject.name === plan && e.reason === reason);
}

const redirect =
  (location: string) =>
  (res: ServerResponse): void => {
    res.writeHead(302, { Location: location }).end();
  };

describe("controller: a channel whose answer is no version", () => {
  const group = controllerFor("channel-lies");
  it("a Location ending in `v1.2.3%20evil%0Aline`: LatestResolved=False naming the channel and quoting the answer, one Warning Event, no pod", async () => {
    const ns = group.ns();
    stub.answers.set("/evil", redirect("/releases/v1.2.3%20evil%0Aline"));
    await optIn(env, [workers[0]!], LABEL);
    await applyPlan(env, channelPlan(ns, "evil", "/evil", { matchLabels: { [LABEL]: "yes" } }));
    const got = await waitForPlan(env, ns, "evil", "LatestResolved=False", (p) => condition(p, "LatestResolved")?.status === "False", 30_000);
    const c = condition(got, "LatestResolved");
    assert.equal(c?.reason, "ChannelInvalidVersion");
    assert.ok(c?.message?.includes(`channel ${stub.url}/evil`), c?.message);
    // Escaped: the newline is the two characters \n, so the message stays one line.
    assert.ok(c?.message?.includes(String.raw`"v1.2.3 evil\nline"`), c?.message);
    assert.ok(!(c?.message ?? "").includes("\n"));
    assert.equal(got.status?.latestVersion, undefined);
    // The channel is asked again (every channelPollMs): the same answer is no new Event.
    await waitFor(() => (stub.asked.get("/evil") ?? 0) >= 3, { timeoutMs: 30_000, what: "the channel to be asked three times" });
    const again = await env.kube.get<PlanObject>(resources.plans, ns, "evil");
    assert.notEqual(condition(again, "Complete")?.status, "True");
    const events = await eventsOn(ns, "evil", "ResolveFailed");
    assert.equal(events.length, 1);
    assert.equal(events[0]?.type, "Warning");
    assert.equal(events[0]?.count, 1);
    assert.ok(events[0]?.message?.includes(`${stub.url}/evil`), events[0]?.message);
    assert.deepEqual(await applyPods(ns, "evil"), []);
  });

  const lies: { name: string; path: string; answer: (res: ServerResponse) => void; reason: string; message: RegExp }[] = [
    {
      name: "a 200 instead of a 302",
      path: "/says-ok",
      answer: (res) => res.writeHead(200, { "Content-Type": "text/plain" }).end("v1.2.3\n"),
      reason: "ChannelError",
      message: /answered HTTP 200 .*not a redirect/,
    },
    { name: "a redirect to itself", path: "/loop", answer: redirect("/loop"), reason: "ChannelError", message: /redirects to itself/ },
    { name: "an empty last segment", path: "/empty", answer: redirect("/"), reason: "ChannelError", message: /names no version/ },
    {
      name: "a Location that is no URL",
      path: "/no-url",
      answer: redirect("http://[::1/v1.2.3"),
      reason: "ChannelError",
      message: /Location "http:\/\/\[::1\/v1\.2\.3" is not a URL/,
    },
    {
      name: "a Location that is not http(s)",
      path: "/js",
      answer: redirect("javascript:alert(1)/v1.2.3"),
      reason: "ChannelError",
      message: /not an http\(s\) URL/,
    },
    {
      name: "a version too long for a label",
      path: "/long",
      answer: redirect(`/releases/v1.2.3-${"a".repeat(60)}`),
      reason: "ChannelInvalidVersion",
      message: /not a valid label value/,
    },
    {
      name: "an error whose body never ends",
      path: "/endless",
      answer: (res) => {
        res.writeHead(503, { "Content-Type": "text/plain" });
        const chunk = "x".repeat(16 * 1024);
        const pump = (): void => {
          while (res.write(chunk));
          res.once("drain", pump);
        };
        pump();
      },
      reason: "ChannelError",
      message: /unexpected HTTP 503 .*: "x{20,}/,
    },
  ];
  for (const lie of lies) {
    it(`${lie.name}: LatestResolved=False naming the channel, with a clear message`, async () => {
      const ns = group.ns();
      stub.answers.set(lie.path, lie.answer);
      const name = `lie${lie.path.replaceAll("/", "-")}`;
      await applyPlan(env, channelPlan(ns, name, lie.path));
      const got = await waitForPlan(env, ns, name, "LatestResolved=False", (p) => condition(p, "LatestResolved")?.status === "False", 30_000);
      const c = condition(got, "LatestResolved");
      assert.equal(c?.reason, lie.reason, c?.message);
      assert.match(c?.message ?? "", lie.message);
      assert.ok(c?.message?.startsWith(`channel ${stub.url}${lie.path}: `), c?.message);
      assert.equal(got.status?.latestVersion, undefined);
    });
  }

  it("a Location on another host (update.k3s.io sends users to github.com): the version, and the host named", async () => {
    const ns = group.ns();
    stub.answers.set("/elsewhere", redirect("https://releases.example.com/k3s/releases/tag/v1.31.4%2Bk3s1"));
    await applyPlan(env, channelPlan(ns, "elsewhere", "/elsewhere"));
    const got = await waitForPlan(env, ns, "elsewhere", "a version", (p) => p.status?.latestVersion !== undefined, 30_000);
    assert.equal(got.status?.latestVersion, "v1.31.4-k3s1");
    assert.equal(condition(got, "LatestResolved")?.status, "True");
    assert.match(condition(got, "LatestResolved")?.message ?? "", /redirected to releases\.example\.com/);
  });
});

describe("controller: channels that never answer", () => {
  const group = controllerFor("channel-hang");
  // Structural, not a stopwatch: the six requests stay open for the whole test (the controller's
  // channel timeout is 120 s), and the plain Plan must complete while all six are still open.
  // A controller whose workers wait on the channels has four workers and six hanging Plans ahead
  // of the plain one: it cannot start the plain Plan before the first channel times out.
  it("six hanging channels: a Plan with a fixed version completes while all six requests are still open", async () => {
    const ns = group.ns();
    for (let i = 1; i <= 6; i++) await applyPlan(env, channelPlan(ns, `hang-${i}`, `/hang-${i}`));
    await waitFor(() => stub.open.size >= 4, { timeoutMs: 30_000, what: "the hanging channels to be asked" });
    const node = workers[1]!;
    await optIn(env, [node], `${LABEL}-plain`);
    await applyPlan(env, aPlan(ns, "plain", { nodeSelector: { matchLabels: { [`${LABEL}-plain`]: "yes" } } }));
    await waitForPlan(env, ns, "plain", "Complete", (p) => condition(p, "Complete")?.status === "True", 60_000);
    assert.deepEqual([...stub.open].sort(), ["/hang-1", "/hang-2", "/hang-3", "/hang-4", "/hang-5", "/hang-6"]);
    assert.equal((await applyPods(ns, "plain")).length, 1);
    // Meanwhile each hanging Plan says what it waits for, without an error.
    const hung = await env.kube.get<PlanObject>(resources.plans, ns, "hang-6");
    assert.equal(condition(hung, "LatestResolved")?.status, "Unknown");
    assert.match(hung.status?.waiting ?? "", new RegExp(`resolving channel ${stub.url}/hang-6`));
    assert.deepEqual(await eventsOn(ns, "hang-6", "ResolveFailed"), []);
  });
});
