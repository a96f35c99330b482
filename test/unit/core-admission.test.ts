import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { admit } from "../../src/controller/rollout/admission.ts";

const ordered = ["n1", "n2", "n3", "n4", "n5"];
const run = (concurrency: number, inFlight: string[] = [], blocked: string[] = []) =>
  admit({ ordered, inFlight: new Set(inFlight), blocked: new Set(blocked), concurrency }, (n) => n);

describe("admission: never more than concurrency; in-flight nodes keep their slots", () => {
  const cases: Array<[string, number, string[], string[], { inFlight: string[]; start: string[]; waiting: string[]; blocked: string[] }]> = [
    ["first pass, concurrency 1", 1, [], [], { inFlight: [], start: ["n1"], waiting: ["n2", "n3", "n4", "n5"], blocked: [] }],
    ["first pass, concurrency 2", 2, [], [], { inFlight: [], start: ["n1", "n2"], waiting: ["n3", "n4", "n5"], blocked: [] }],
    ["all slots taken: nothing starts", 2, ["n1", "n2"], [], { inFlight: ["n1", "n2"], start: [], waiting: ["n3", "n4", "n5"], blocked: [] }],
    ["one slot free: the next in order", 2, ["n1"], [], { inFlight: ["n1"], start: ["n2"], waiting: ["n3", "n4", "n5"], blocked: [] }],
    ["in flight out of order keeps its slot", 2, ["n4"], [], { inFlight: ["n4"], start: ["n1"], waiting: ["n2", "n3", "n5"], blocked: [] }],
    ["a node no longer eligible still holds its slot", 2, ["gone"], [], { inFlight: [], start: ["n1"], waiting: ["n2", "n3", "n4", "n5"], blocked: [] }],
    [
      "more in flight than concurrency (Plan edited down): nothing starts",
      1,
      ["n1", "n2"],
      [],
      { inFlight: ["n1", "n2"], start: [], waiting: ["n3", "n4", "n5"], blocked: [] },
    ],
    ["blocked nodes are passed over, not waited for", 2, [], ["n1"], { inFlight: [], start: ["n2", "n3"], waiting: ["n4", "n5"], blocked: ["n1"] }],
    ["an in-flight node is never reported blocked", 2, ["n1"], ["n1"], { inFlight: ["n1"], start: ["n2"], waiting: ["n3", "n4", "n5"], blocked: [] }],
    ["concurrency larger than the nodes", 10, [], [], { inFlight: [], start: ordered, waiting: [], blocked: [] }],
    ["concurrency 0 starts nothing (SUC)", 0, [], [], { inFlight: [], start: [], waiting: ordered, blocked: [] }],
  ];
  for (const [name, c, inFlight, blocked, want] of cases) void test(name, () => assert.deepEqual(run(c, inFlight, blocked), want));

  test("invariant over many shapes: in flight + started <= concurrency, every node once", () => {
    for (let c = 0; c <= 6; c++) {
      for (let mask = 0; mask < 1 << ordered.length; mask++) {
        const inFlight = ordered.filter((_, i) => (mask & (1 << i)) !== 0);
        const blocked = ordered.filter((_, i) => ((mask >> 1) & (1 << i)) !== 0);
        const a = run(c, inFlight, blocked);
        assert.ok(a.start.length + Math.max(inFlight.length, a.inFlight.length) <= Math.max(c, inFlight.length));
        assert.ok(inFlight.length >= c ? a.start.length === 0 : a.start.length + inFlight.length <= c);
        assert.deepEqual([...a.inFlight, ...a.start, ...a.waiting, ...a.blocked].sort(), [...ordered].sort());
      }
    }
  });
});
