// The controller's log lines, as a person and a log pipeline read them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { logger } from "../../src/controller/wiring/log.ts";
import { parseControllerConfig } from "../../src/cli/commands/controller.ts";

const at = () => new Date("2026-12-01T10:00:00.000Z");

function lines(level: "debug" | "info" | "warn" | "error", format: "json" | "text"): string[] {
  const out: string[] = [];
  const log = logger({ level, format, write: (l) => out.push(l), base: { controller: "plan-runner" }, now: at });
  log.debug("drain pass", { node: "w1" });
  log.info("created pod", { plan: "workers", pod: "apply-workers-on-w1-with-abc" });
  log.warn("watch restarted", { error: "connection reset by peer" });
  log.error("reconcile failed; will retry", { kind: "api_500", n: 3 });
  return out;
}

describe("controller logs", () => {
  it("text: time, level, message, then key=value (quoted when needed)", () => {
    assert.deepEqual(lines("debug", "text"), [
      "2026-12-01T10:00:00.000Z DEBUG drain pass controller=plan-runner node=w1",
      "2026-12-01T10:00:00.000Z INFO  created pod controller=plan-runner plan=workers pod=apply-workers-on-w1-with-abc",
      '2026-12-01T10:00:00.000Z WARN  watch restarted controller=plan-runner error="connection reset by peer"',
      "2026-12-01T10:00:00.000Z ERROR reconcile failed; will retry controller=plan-runner kind=api_500 n=3",
    ]);
  });

  it("json: one object per line with ts, level and msg", () => {
    const [first] = lines("info", "json");
    assert.deepEqual(JSON.parse(first ?? ""), {
      ts: "2026-12-01T10:00:00.000Z",
      level: "info",
      msg: "created pod",
      controller: "plan-runner",
      plan: "workers",
      pod: "apply-workers-on-w1-with-abc",
    });
  });

  it("a level drops what is below it", () => {
    assert.equal(lines("info", "json").length, 3, "no debug at info");
    assert.deepEqual(
      lines("warn", "text").map((l) => l.split(" ")[1]),
      ["WARN", "ERROR"],
    );
  });

  it("--log-format auto is text on a terminal, JSON otherwise; bad values name the flag", () => {
    assert.deepEqual(parseControllerConfig([], {}, true).log, { level: "info", format: "text" });
    assert.deepEqual(parseControllerConfig([], {}, false).log, { level: "info", format: "json" });
    assert.deepEqual(parseControllerConfig(["--log-format", "json", "--log-level", "debug"], {}, true).log, { level: "debug", format: "json" });
    assert.throws(() => parseControllerConfig(["--log-level", "verbose"], {}), /^Error: --log-level: "verbose" must be one of debug, info, warn, error$/);
    assert.throws(() => parseControllerConfig(["--log-format", "pretty"], {}), /--log-format: "pretty" must be one of json, text, auto/);
  });
});
