#!/usr/bin/env node
// The process entry of the CLI. The image runs it compiled (dist/cli/run.js); a git checkout
// runs it through tsx from bin/plan-runner.js. Both go through the same main().
import { main } from "./main.ts";

process.exitCode = await main(process.argv.slice(2));
