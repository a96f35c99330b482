#!/usr/bin/env node
// The developers' entry in a git checkout: the TypeScript sources through tsx's loader, so an
// edit runs without a build. The image never uses this file: it runs the compiled
// dist/cli/run.js and carries neither src/ nor tsx.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/run.ts");
