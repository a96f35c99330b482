// The informer against a scripted API: list, then watch from the list's version; BOOKMARKs move
// the version on; an ERROR (410 Gone: the version is too old) or a failed watch means a relist,
// which also tells handlers about objects deleted while nobody watched.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Informer } from "../../src/controller/kube/informer.ts";
import { resources } from "../../src/controller/kube/ports.ts";
import type { Pod } from "../../src/controller/rollout/objects.ts";
import { ScriptedKube, apiError, expect, until, watchThenHold } from "./scripted-kube.ts";

const pod = (name: string, rv: string): Pod => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "ns", resourceVersion: rv } });
const list = (rv: string, ...items: Pod[]) => ({ metadata: { resourceVersion: rv }, items });
const fromVersion = (rv: string) => (call: { opts: unknown }) => assert.equal((call.opts as { resourceVersion?: string }).resourceVersion, rv);

function informer(kube: ScriptedKube) {
  const seen: string[] = [];
  const inf = new Informer<Pod>(kube, { resource: resources.pods, namespace: "ns", relistMs: 60_000 });
  inf.onChange((p, type) => seen.push(`${type} ${p.metadata.name}`));
  return { inf, seen };
}

describe("informer (scripted API)", () => {
  it("lists, watches from the list's version, follows BOOKMARKs, and relists after 410 Gone", async () => {
    const kube = new ScriptedKube([
      expect("list", resources.pods, list("10", pod("a", "5"), pod("b", "6"))),
      {
        ...expect(
          "watch",
          resources.pods,
          [
            { type: "ADDED", object: pod("c", "11") },
            { type: "BOOKMARK", object: pod("", "20") },
          ],
          fromVersion("10"),
        ),
      },
      expect("watch", resources.pods, [{ type: "ERROR", object: { code: 410, reason: "Expired", message: "too old resource version" } }], fromVersion("20")),
      // While nobody watched, b was deleted and a changed: the relist tells the handlers.
      expect("list", resources.pods, list("30", pod("a", "25"), pod("c", "11"))),
      watchThenHold(resources.pods, [], fromVersion("30")),
    ]);
    const { inf, seen } = informer(kube);
    inf.start();
    await inf.waitForSync();
    await kube.played();
    await until(() => seen.includes("DELETED b"), "the relist after 410");
    assert.deepEqual(
      inf.list().map((p) => `${p.metadata.name}@${p.metadata.resourceVersion}`),
      ["a@25", "c@11"],
    );
    assert.deepEqual(seen, ["ADDED a", "ADDED b", "ADDED c", "MODIFIED a", "DELETED b"]);
    await inf.stop();
    kube.done();
  });

  it("an ERROR event ends the watch; a watch that fails outright backs off and relists", async () => {
    const kube = new ScriptedKube([
      expect("list", resources.pods, list("1", pod("a", "1"))),
      expect("watch", resources.pods, apiError(500, "InternalError", "watch")),
      expect("list", resources.pods, list("2", pod("a", "2"))),
      watchThenHold(resources.pods, [{ type: "MODIFIED", object: pod("a", "3") }], fromVersion("2")),
    ]);
    const { inf } = informer(kube);
    inf.start();
    await kube.played();
    await until(() => inf.get("ns/a")?.metadata.resourceVersion === "3", "the watch after the relist");
    await inf.stop();
    kube.done();
  });

  it("ignores a watch event older than what the cache holds", async () => {
    const kube = new ScriptedKube([
      expect("list", resources.pods, list("5", pod("a", "5"))),
      watchThenHold(resources.pods, [{ type: "MODIFIED", object: pod("a", "4") }]),
    ]);
    const { inf, seen } = informer(kube);
    inf.start();
    await kube.played();
    await inf.stop();
    assert.equal(inf.get("ns/a")?.metadata.resourceVersion, "5");
    assert.deepEqual(seen, ["ADDED a"]);
    kube.done();
  });
  it("a relist answered from before our own write keeps what we wrote: no stale object, no lost pod, no event for either", async () => {
    const ref: { inf?: Informer<Pod> } = {};
    const kube = new ScriptedKube([
      expect("list", resources.pods, list("5", pod("a", "5"))),
      expect("watch", resources.pods, [{ type: "ERROR", object: { code: 410, reason: "Expired", message: "too old resource version" } }]),
      // While the relist is in flight we update a and create b: the list was read before both.
      expect("list", resources.pods, () => {
        ref.inf?.upsert(pod("a", "8"));
        ref.inf?.upsert(pod("b", "9"));
        return list("7", pod("a", "5"));
      }),
      watchThenHold(resources.pods, [], fromVersion("7")),
    ]);
    const made = informer(kube);
    const inf = (ref.inf = made.inf);
    inf.start();
    await kube.played();
    await inf.stop();
    assert.deepEqual(
      inf.list().map((p) => `${p.metadata.name}@${p.metadata.resourceVersion}`),
      ["a@8", "b@9"],
    );
    assert.deepEqual(made.seen, ["ADDED a"]);
    kube.done();
  });
});
