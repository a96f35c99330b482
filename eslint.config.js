// Type-aware lint: floating promises are errors because a dropped promise in a
// controller is a silently lost write. The import rules draw the rooms of src/controller
// (docs/architecture.md): rollout/ is pure, kube/ does the I/O, wiring/ joins them.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const clientNode = { name: "@kubernetes/client-node", message: "only src/controller/kube/adapter.ts may import client-node" };
const execa = { name: "execa", message: "only src/executors/host-runner.ts may import execa" };
const io = (name) => ({ name, message: "src/controller/rollout is pure: I/O goes through a port in src/controller/kube" });
const pureRoom = {
  paths: [
    clientNode,
    execa,
    ...[
      "node:http",
      "node:https",
      "node:net",
      "node:tls",
      "node:dns",
      "node:fs",
      "node:fs/promises",
      "node:child_process",
      "node:os",
      "prom-client",
      "p-queue",
      "yaml",
    ].map(io),
  ],
  patterns: [
    { group: ["**/kube/*", "**/kube/**"], message: "the rollout room imports nothing from the I/O room (src/controller/kube)" },
    { group: ["**/wiring/*", "**/wiring/**"], message: "the rollout room imports nothing from the wiring (src/controller/wiring)" },
    { group: ["**/executors/**", "**/cli/**"], message: "the rollout room knows nothing of the node side or the CLI" },
  ],
};

export default tseslint.config(
  { ignores: ["node_modules/**", "dist/**", "src/generated/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-imports": ["error", { paths: [clientNode, execa] }],
    },
  },
  {
    // A function reads without scrolling (docs/architecture.md); a longer one wants named parts.
    files: ["src/**"],
    rules: { "max-lines-per-function": ["error", { max: 60, skipBlankLines: true, skipComments: true }] },
  },
  {
    files: ["src/controller/rollout/**"],
    rules: { "no-restricted-imports": ["error", pureRoom] },
  },
  {
    files: ["src/controller/kube/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: [clientNode, execa], patterns: [{ group: ["**/wiring/*", "**/wiring/**"], message: "the I/O room does not reach back into the wiring" }] },
      ],
    },
  },
  {
    files: ["src/controller/kube/adapter.ts", "test/**", "scripts/**"],
    rules: { "no-restricted-imports": "off" },
  },
  {
    files: ["src/executors/host-runner.ts"],
    rules: { "no-restricted-imports": "off" },
  },
  {
    // node:test's describe/it return promises the runner itself awaits.
    files: ["test/**"],
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["describe", "it", "test", "before", "after", "beforeEach", "afterEach"] }] },
      ],
    },
  },
  {
    files: ["eslint.config.js", "bin/**", "images/**/*.js"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: "readonly" } },
  },
);
