// The generated CRD against the real API server: `kubectl apply --dry-run=server` refuses what
// `plan-runner validate` refuses wherever the API server can check it, with the field's name in
// the message, and still accepts every Plan that ships (SUC's examples unchanged). `kubectl
// explain` shows a description for every field.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadPlanDocuments } from "../../src/plan/load.ts";
import { type Env, startEnv } from "./controller-env.ts";

const root = join(import.meta.dirname, "..", "..");
let env: Env;
let ns: string;
let dir: string | undefined;

before(async () => {
  env = await startEnv(1, 1);
  ns = await env.cp.createNamespace("crd");
  dir = mkdtempSync(join(tmpdir(), "plan-runner-crd-"));
});
after(async () => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  await env?.stop();
});

/** The Plan documents of a file, put in the test's namespace (kubectl refuses a mismatch with -n). */
function plansIn(path: string): Record<string, unknown>[] {
  // Read as kubectl reads YAML (no base-60 numbers: startTime 1:30 stays a string).
  return loadPlanDocuments(readFileSync(path, "utf8"), path)
    .documents.map((d) => d.value as Record<string, unknown> | undefined)
    .filter((d): d is Record<string, unknown> => d?.["kind"] === "Plan")
    .map((d) => ({ ...d, metadata: { ...(d["metadata"] as object), namespace: ns } }));
}

/** `kubectl apply --dry-run=server` of one Plan: "" when accepted, else kubectl's message. */
async function dryRun(plan: Record<string, unknown>, name: string): Promise<string> {
  const file = join(dir ?? tmpdir(), `${name}.json`);
  writeFileSync(file, JSON.stringify(plan));
  const r = await env.cp.kubectl(["apply", "--dry-run=server", "-n", ns, "-f", file]);
  return r.code === 0 ? "" : r.stderr.trim();
}

const yamlFiles = (d: string): string[] =>
  readdirSync(join(root, d))
    .filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml")
    .map((f) => join(d, f));

/**
 * Invalid fixtures the API server refuses, and what its message must say (the field, mostly).
 * The others are listed below with why the API server cannot check them; together they are the
 * whole corpus, so a new fixture has to be placed in one or the other.
 */
const REFUSED: Readonly<Record<string, RegExp>> = {
  "after-bad-name.yaml": /spec\.after\[0\]: Invalid value: "[^"]*": after must name a Plan/,
  "after-itself.yaml": /spec\.after must not list the Plan itself/,
  "channel-ftp.yaml": /spec\.channel: Invalid value: "[^"]*": channel must be an http\(s\) URL/,
  "channel-not-url.yaml": /spec\.channel: Invalid value: "[^"]*": channel must be an http\(s\) URL/,
  "concurrency-fraction.yaml": /spec\.concurrency/,
  "concurrency-quoted.yaml": /spec\.concurrency/,
  "concurrency-zero.yaml": /spec\.concurrency: Invalid value: 0/,
  "drain-delete-conflict.yaml": /spec\.drain: Invalid value: .*deleteLocalData and deleteEmptydirData cannot both be set/,
  "drain-grace-period.yaml": /spec\.drain\.gracePeriod: Invalid value: -5/,
  "drain-pod-selector-exists-values.yaml": /spec\.drain\.podSelector\.matchExpressions\[0\]: Invalid value: .*values: operators In and NotIn/,
  "drain-pod-selector-operator.yaml": /spec\.drain\.podSelector\.matchExpressions\[0\]\.operator: Unsupported value: "in"/,
  "drain-skip-wait-negative.yaml": /spec\.drain\.skipWaitForDeleteTimeout: Invalid value: -1/,
  "drain-timeout-boolean.yaml": /spec\.drain\.timeout/,
  "drain-timeout-negative.yaml": /spec\.drain\.timeout: Invalid value: "-5m": drain\.timeout must be a Go duration/,
  "drain-timeout-words.yaml": /spec\.drain\.timeout: Invalid value: "10 minutes": drain\.timeout must be a Go duration/,
  "env-value-and-value-from.yaml": /spec\.upgrade\.envs\[0\]: Invalid value: .*value and valueFrom cannot both be set/,
  "exclusive-string.yaml": /spec\.exclusive/,
  "failure-policy-backoff.yaml": /spec\.failurePolicy\.backoff: Invalid value: "30 seconds": backoff must be a Go duration/,
  "failure-policy-negative-retries.yaml": /spec\.failurePolicy\.retries: Invalid value: -1/,
  "failure-policy-on-exhausted.yaml": /spec\.failurePolicy\.onExhausted: Unsupported value: "retry"/,
  "health-soak.yaml": /spec\.gates\.health\.soak: Invalid value: "five minutes": soak must be a Go duration/,
  "health-timeout-zero.yaml": /spec\.gates\.health\.timeout: Invalid value: "0s": timeout must be more than 0/,
  "image-pull-secret-no-name.yaml": /spec\.imagePullSecrets\[0\]: Invalid value: .*name is required/,
  "image-with-space.yaml": /spec\.upgrade\.image: Invalid value: "[^"]*": image must not contain white space/,
  "job-deadline-quoted.yaml": /spec\.jobActiveDeadlineSecs/,
  "kind-lower-case.yaml": /kind: Invalid value: "plan": must be Plan/,
  "metadata-label-bad-value.yaml": /metadata\.labels: Invalid value: "my upgrade"/,
  "metadata-missing-name.yaml": /name may not be empty/,
  "missing-image.yaml": /spec\.upgrade\.image: Required value/,
  "missing-spec.yaml": /spec: Required value/,
  "missing-upgrade.yaml": /spec\.upgrade: Required value/,
  "name-too-long.yaml": /metadata\.name must be a DNS label/,
  "name-upper-case.yaml": /metadata\.name: Invalid value: "K3s-Server"/,
  "name-with-dot.yaml": /metadata\.name must be a DNS label/,
  "no-version-no-channel.yaml": /spec: Invalid value: .*set version or channel/,
  "node-selector-in-without-values.yaml": /spec\.nodeSelector\.matchExpressions\[0\]: Invalid value: .*values: operators In and NotIn/,
  "order-group-selector.yaml": /spec\.order\.groups\[0\]\.matchExpressions\[0\]: Invalid value: .*values: operators In and NotIn/,
  "prometheus-url.yaml": /spec\.gates\.prometheus\.url: Invalid value: "prometheus:9090": url must be an http\(s\) URL/,
  "post-complete-delay-negative.yaml": /spec\.postCompleteDelay: Invalid value: "-30s": postCompleteDelay must be a Go duration/,
  "post-complete-delay-no-unit.yaml": /spec\.postCompleteDelay: Invalid value: "30": postCompleteDelay must be a Go duration/,
  "secret-default-mode-too-big.yaml": /spec\.secrets\[0\]\.defaultMode: Invalid value: 1000/,
  "secret-missing-path.yaml": /spec\.secrets\[0\]\.path: Required value/,
  "service-account-name.yaml": /spec\.serviceAccountName: Invalid value: "[^"]*": serviceAccountName must be a DNS subdomain/,
  "toleration-bad-effect.yaml": /spec\.tolerations\[0\]\.effect: Unsupported value: "NoExec"/,
  "toleration-exists-with-value.yaml": /spec\.tolerations\[0\]: Invalid value: .*value must be empty when operator is Exists/,
  "toleration-seconds-no-execute.yaml": /spec\.tolerations\[0\]: Invalid value: .*tolerationSeconds only applies with effect NoExecute/,
  "unknown-field-drain-case.yaml": /unknown field "spec\.drain\.deleteEmptyDirData"/,
  "unknown-field-env.yaml": /unknown field "spec\.upgrade\.env"/,
  "unknown-field-typo.yaml": /unknown field "spec\.concurency"/,
  "version-empty.yaml": /spec: Invalid value: .*set version or channel/,
  "version-unquoted-number.yaml": /spec\.version/,
  "volume-relative-source.yaml": /spec\.upgrade\.volumes\[0\]: Invalid value: .*source must be an absolute path/,
  "window-bad-day.yaml": /spec\.window\.days\[1\]: Invalid value: "funday"/,
  "window-bad-start-time.yaml": /spec\.window\.startTime: Invalid value: "25:00": startTime must be a clock time/,
  "window-cron-six-fields.yaml": /spec\.window\.cron: Invalid value: "0 0 1 \* \* 6": cron must have 5 fields/,
  "window-cron-without-duration.yaml": /spec\.window: Invalid value: .*cron and duration go together/,
  "window-cron-zero-duration.yaml": /spec\.window\.duration: Invalid value: "0s": duration must be more than 0/,
  "window-day-seven.yaml": /spec\.window\.days\[0\]: Invalid value: "7"/,
  "window-days-empty.yaml": /spec\.window\.days/,
  "window-empty.yaml": /spec\.window: Invalid value: .*an empty window never opens/,
  "window-missing-end.yaml": /spec\.window: Invalid value: .*days, startTime and endTime go together/,
  "window-mixed-forms.yaml": /spec\.window: Invalid value: .*either days\/startTime\/endTime or cron\/duration, not both/,
  "window-one-digit-am.yaml": /spec\.window\.startTime: Invalid value: "1:00am": startTime must be a clock time/,
  "wrong-api-version.yaml": /no matches for kind "Plan" in version "upgrade\.cattle\.io\/v2"/,
};

/** What only `validate` and the controller can say, and why. */
const NOT_CHECKABLE: Readonly<Record<string, string>> = {
  "namespace-invalid.yaml": "the test puts each fixture in its own namespace; an invalid namespace name is refused by the API server itself",
  "node-selector-bad-key.yaml": "label syntax of matchLabels keys: a rule per map entry, over a map of unbounded size, exceeds the CEL cost budget",
  "node-selector-long-value.yaml": "label syntax of matchLabels values: as above",
  "post-complete-labels-bad-key.yaml": "label syntax of postCompleteLabels keys: as above",
  "post-complete-labels-expand-too-long.yaml": "needs $(LATEST_VERSION) expanded first",
  "post-complete-labels-plan-label.yaml": "compares a map key with the Plan's name",
  "prometheus-ignore-alerts-regex.yaml": "CEL cannot tell whether a string is a valid regular expression",
  "secret-bad-name.yaml": "names of Secrets in a list of unbounded size: a regular expression per item exceeds the CEL cost budget",
  "secret-duplicate-path.yaml": "compares list items with each other, after resolving relative paths",
  "version-not-a-tag.yaml": "image-tag and label-value syntax after '+' becomes '-': left to validate and the controller",
  "volume-duplicate-name.yaml": "compares list items with each other",
  "volume-over-host-mount.yaml": "compares with the controller's own mounts",
  "volume-reserved-name.yaml": "compares with the names of the volumes the controller adds",
  "window-bad-time-zone.yaml": "CEL has no list of IANA time zones",
  "window-cron-out-of-range.yaml": "the ranges of each cron field: left to the cron parser",
};

describe("the CRD on a real API server", () => {
  it("accepts every Plan that ships and every valid fixture, SUC's examples unchanged", async () => {
    const refused: string[] = [];
    for (const file of [...yamlFiles("plans"), ...yamlFiles("test/fixtures/valid")]) {
      for (const [i, plan] of plansIn(join(root, file)).entries()) {
        const why = await dryRun(plan, `valid-${i}`);
        if (why !== "") refused.push(`${file}: ${why}`);
      }
    }
    assert.deepEqual(refused, []);
  });

  it("refuses each invalid fixture the API server can check, naming the field; accepts only those it cannot check", async () => {
    const corpus = yamlFiles("test/fixtures/invalid").map((f) => f.slice("test/fixtures/invalid/".length));
    assert.deepEqual(
      corpus.filter((f) => REFUSED[f] === undefined && NOT_CHECKABLE[f] === undefined),
      [],
      "every fixture is in one of the two lists",
    );
    const wrong: string[] = [];
    for (const file of corpus) {
      // Not only kind Plan: kind-lower-case.yaml is one of them.
      const doc = loadPlanDocuments(readFileSync(join(root, "test/fixtures/invalid", file), "utf8"), file).documents[0]?.value as Record<string, unknown>;
      const why = await dryRun({ ...doc, metadata: { ...(doc["metadata"] as object), namespace: ns } }, file);
      const expected = REFUSED[file];
      if (expected === undefined && why !== "") wrong.push(`${file}: listed as not checkable, but refused: ${why}`);
      if (expected !== undefined && !expected.test(why)) wrong.push(`${file}: expected ${String(expected)}, got ${why === "" ? "accepted" : why}`);
    }
    assert.deepEqual(wrong, []);
  });

  it("kubectl explain shows a description for every field, the defaults, and says drain.timeout is an int-or-string", async () => {
    const explain = async (field: string): Promise<string> => {
      const r = await env.cp.kubectl(["explain", field]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.replace(/\s+/g, " "); // kubectl wraps descriptions at 80 columns
    };
    for (const field of [
      "plan",
      "plan.spec",
      "plan.spec.drain",
      "plan.spec.window",
      "plan.spec.gates",
      "plan.spec.failurePolicy",
      "plan.spec.upgrade",
      "plan.status",
    ]) {
      assert.doesNotMatch(await explain(field), /<no description>|<empty>/, field);
    }
    const drain = await explain("plan.spec.drain");
    assert.match(drain, /timeout <Object> IntOrString: how long the drain may take/);
    assert.match(await explain("plan.spec.failurePolicy"), /Default: retries 2, backoff 30s \(doubling\), onExhausted halt/);
    assert.match(await explain("plan.spec.gates"), /Default: no gate/);
  });
});
