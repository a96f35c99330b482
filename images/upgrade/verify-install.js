// Fails the image build when node_modules is not what package-lock.json says. `npm ci` has been
// seen to print "npm error Exit handler never called!" and exit 0 with nothing installed (no CA
// bundle in the build); an exit code is not proof, the files are.
//
//   node verify-install.js [--omit=dev]   run in the directory holding package.json
//
// Checks every package the lock file lists for this install (optional ones may be absent: they
// are other platforms' binaries), that each production dependency of package.json resolves, and with
// --omit=dev that no dev-only package is left behind.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const omitDev = process.argv.includes("--omit=dev");
const dir = process.cwd();
const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));
const pkg = readJson(join(dir, "package.json"));
const lock = readJson(join(dir, "package-lock.json"));
const problems = [];
let checked = 0;

for (const [path, entry] of Object.entries(lock.packages ?? {})) {
  if (path === "" || !path.startsWith("node_modules/") || entry.link === true) continue;
  const devOnly = entry.dev === true;
  const wanted = !(omitDev && devOnly) && entry.optional !== true && !(omitDev && entry.devOptional === true);
  const manifest = join(dir, path, "package.json");
  if (!wanted) {
    if (omitDev && devOnly && existsSync(manifest)) problems.push(`${path}: dev-only, still installed`);
    continue;
  }
  checked++;
  if (!existsSync(manifest)) {
    problems.push(`${path}: missing`);
    continue;
  }
  const got = readJson(manifest).version;
  if (got !== entry.version) problems.push(`${path}: version ${got}, lock says ${entry.version}`);
}

// Only the production dependencies: some dev ones (@types/node) have nothing to import.
const own = Object.keys(pkg.dependencies ?? {});
const parent = pathToFileURL(resolve(dir, "package.json")).href;
for (const name of own) {
  try {
    import.meta.resolve(name, parent);
  } catch (e) {
    problems.push(`${name}: does not resolve (${e instanceof Error ? e.message : String(e)})`);
  }
}

if (checked === 0) problems.push("the lock file lists no package to check");
if (problems.length > 0) {
  process.stderr.write(`node_modules does not match package-lock.json:\n  ${problems.join("\n  ")}\n`);
  process.exit(1);
}
process.stdout.write(`node_modules verified: ${checked} packages${omitDev ? " (production)" : ""}, ${own.length} production dependencies resolve\n`);
