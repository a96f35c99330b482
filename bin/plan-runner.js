#!/usr/bin/env node
// The one command-line entry. TypeScript sources run through tsx's loader so the image and
// a git checkout execute the same files.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
