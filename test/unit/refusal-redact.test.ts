// What the controller tells about refusals, and what it never tells: the objects a Plan names that
// are missing (before any node is cordoned), the release of a node whose pod was refused, and the
// secret values a failing pod may print.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PlanSpec } from "../../src/generated/plan.ts";
import { annotationCordonedBy, annotationDrainStarted } from "../../src/controller/rollout/keys.ts";
import type { Node, Pod, Secret } from "../../src/controller/rollout/objects.ts";
import { REDACTED, redactDeep, redactPod, redactor, secretTexts } from "../../src/controller/rollout/redact.ts";
import { type Exists, missingReferences, releaseAfterRefusal, withRefusals } from "../../src/controller/rollout/refusal.ts";

const b64 = (s: string): string => Buffer.from(s).toString("base64");
const aSecret = (data: Record<string, string>): Secret => ({
  metadata: { name: "creds" },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
});
const spec = (s: Partial<PlanSpec>): PlanSpec => ({ upgrade: { image: "x" }, ...s });

describe("redact: secret values out of failure text", () => {
  const redact = redactor(secretTexts([aSecret({ token: "s3cr3t-token\n", pw: "hunter22", pin: "123" })]));
  const table: Array<[string, string, string]> = [
    ["the value", "login as s3cr3t-token failed", `login as ${REDACTED} failed`],
    ["the value with its newline", "got s3cr3t-token\n!", `got ${REDACTED}!`],
    ["its base64", `header ${b64("hunter22")}`, `header ${REDACTED}`],
    ["its base64 unpadded", `jwt ${b64("s3cr3t-token").replace(/=+$/, "")}.x`, `jwt ${REDACTED}.x`],
    ["each occurrence", "hunter22 hunter22", `${REDACTED} ${REDACTED}`],
    ["a value shorter than 4 characters is left (it would redact ordinary words)", "exit 123", "exit 123"],
    ["text without a secret", "kubeadm: preflight failed", "kubeadm: preflight failed"],
  ];
  for (const [what, input, want] of table) it(what, () => assert.equal(redact(input), want));

  it("the longest first: a value holding another is not left half-shown", () => {
    assert.equal(redactor(["abcd", "abcdefgh"])("xabcdefghx"), `x${REDACTED}x`);
  });

  it("a value inside the marker itself is skipped, so redacting twice gives the same text", () => {
    const r = redactor(["dact", "hunter22"]);
    assert.equal(r(r("hunter22 dact")), `${REDACTED} dact`);
  });

  it("no secrets: the text is unchanged", () => assert.equal(redactor(secretTexts([]))("anything"), "anything"));

  it("a pod's status: termination messages and the pod's message, every container; the rest untouched", () => {
    const pod: Pod = {
      metadata: { name: "apply-x", labels: { a: "hunter22" } },
      status: {
        phase: "Failed",
        message: "evicted: hunter22",
        containerStatuses: [{ name: "upgrade", state: { terminated: { exitCode: 1, message: "said s3cr3t-token" } } }],
        initContainerStatuses: [{ name: "prep", state: { terminated: { exitCode: 1, message: `b64 ${b64("hunter22")}` } } }],
      },
    };
    const out = redactPod(pod, redact);
    assert.equal(out.status?.message, `evicted: ${REDACTED}`);
    assert.equal(out.status?.containerStatuses?.[0]?.state?.terminated?.message, `said ${REDACTED}`);
    assert.equal(out.status?.initContainerStatuses?.[0]?.state?.terminated?.message, `b64 ${REDACTED}`);
    assert.equal(out.metadata.labels?.["a"], "hunter22", "labels are ours, not failure text");
    assert.equal(pod.status?.message, "evicted: hunter22", "the cached pod is not changed");
  });

  it("deep: every string of a status, numbers and keys kept", () => {
    assert.deepEqual(redactDeep({ failures: [{ message: "hunter22", attempts: 1 }] }, redact), { failures: [{ message: REDACTED, attempts: 1 }] });
  });
});

describe("refusal: objects the Plan names that are missing", () => {
  const none: Exists = () => false;
  it("names the field and the object of each missing one", () => {
    const got = missingReferences(
      spec({
        serviceAccountName: "upgrader",
        priorityClassName: "urgent",
        secrets: [
          { name: "a", path: "a" },
          { name: "b", path: "b", ignoreUpdates: true },
        ],
      }),
      "ns",
      none,
    ).map((r) => r.message);
    assert.deepEqual(got, [
      "spec.serviceAccountName: ServiceAccount ns/upgrader not found",
      "spec.priorityClassName: PriorityClass urgent not found",
      "spec.secrets[0].name: Secret ns/a not found",
    ]);
  });
  it("present, unnamed, or not readable (undefined: the pod create will tell): nothing", () => {
    assert.deepEqual(
      missingReferences(spec({ serviceAccountName: "upgrader" }), "ns", () => true),
      [],
    );
    assert.deepEqual(
      missingReferences(spec({ serviceAccountName: "upgrader", priorityClassName: "p" }), "ns", () => undefined),
      [],
    );
    assert.deepEqual(missingReferences(spec({ serviceAccountName: "" }), "ns", none), []);
  });
  it("the condition says no node is cordoned until it exists; the Plan reads Refused; one Event, none for a pass that repeats it", () => {
    const refusals = missingReferences(spec({ serviceAccountName: "upgrader" }), "ns", none);
    const first = withRefusals({ state: "Applying", applying: [] }, undefined, refusals, 600_000, 0);
    const c = first.status.conditions?.find((x) => x.type === "Refused");
    assert.equal(c?.status, "True");
    assert.match(c?.message ?? "", /^spec\.serviceAccountName: ServiceAccount ns\/upgrader not found: .*no node is cordoned or started until it exists/);
    assert.equal(first.status.state, "Refused");
    assert.equal(first.event?.reason, "ApiRefused");
    const again = withRefusals({ state: "Applying", applying: [] }, first.status, refusals, 600_000, 5000);
    assert.equal(again.event, undefined);
  });
  it("a node still applying keeps the state Applying", () => {
    const refusals = missingReferences(spec({ serviceAccountName: "upgrader" }), "ns", none);
    assert.equal(withRefusals({ state: "Applying", applying: ["w2"] }, undefined, refusals, 600_000, 0).status.state, "Applying");
  });
});

describe("refusal: a node whose pod was refused is released", () => {
  const aNode = (annotations: Record<string, string>, unschedulable: boolean): Node => ({ metadata: { name: "w1", annotations }, spec: { unschedulable } });
  it("our cordon: uncordoned and unmarked, told as Uncordoned", () => {
    const r = releaseAfterRefusal(aNode({ [annotationCordonedBy("p")]: "h" }, true), "p");
    assert.deepEqual(r?.patch, { metadata: { annotations: { [annotationCordonedBy("p")]: null } }, spec: { unschedulable: null } });
    assert.equal(r?.event.reason, "Uncordoned");
  });
  it("someone else's cordon with our drain mark: only the mark goes", () => {
    const r = releaseAfterRefusal(aNode({ [annotationDrainStarted("p")]: "t" }, true), "p");
    assert.deepEqual(r?.patch, { metadata: { annotations: { [annotationDrainStarted("p")]: null } } });
  });
  it("a node this Plan does not hold: nothing", () => assert.equal(releaseAfterRefusal(aNode({}, true), "p"), undefined));
});
