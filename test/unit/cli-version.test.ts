// `plan-runner --version`: the image's build checks it after every build, so it must print the
// package's version and nothing else.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { bufferIO } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

describe("plan-runner --version", () => {
  it("prints package.json's version on stdout and exits 0", async () => {
    const io = bufferIO();
    const code = await main(["--version"], io);
    assert.equal(code, 0);
    assert.equal(io.stdout(), `${pkg.version}\n`);
    assert.equal(io.stderr(), "");
  });

  it("is listed in the usage text", async () => {
    const io = bufferIO();
    await main(["--help"], io);
    assert.match(io.stderr(), /--version/);
  });
});
