// plan-runner controller --notify-secret / --notify-timeout: what the flags become, and a bad
// value named by its flag.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseControllerConfig } from "../../src/cli/commands/controller.ts";
import { ControllerDefaults } from "../../src/controller/wiring/defaults.ts";

describe("controller flags: notifications", () => {
  it("are off unless --notify-secret names a Secret", () => {
    assert.equal(parseControllerConfig([], {}).config.notifySecret, undefined);
    const { config } = parseControllerConfig(["--notify-secret", "plan-runner-notify", "--notify-timeout", "2s"], {});
    assert.equal(config.notifySecret, "plan-runner-notify");
    assert.equal(config.notifyTimeoutMs, 2000);
    assert.equal(config.notifyRetries, ControllerDefaults.notifyRetries);
  });

  it("a value that is not a Secret name, or not a duration, is refused naming the flag", () => {
    assert.throws(
      () => parseControllerConfig(["--notify-secret", "https://hooks.example/T0/B0/token"], {}),
      (e: unknown) => e instanceof Error && /^--notify-secret: expects the name of a Secret/.test(e.message) && !e.message.includes("token"),
    );
    assert.throws(() => parseControllerConfig(["--notify-secret", "n", "--notify-timeout", "soon"], {}), /--notify-timeout: "soon" is not a duration/);
  });
});
