// Type-aware lint: floating promises are errors because a dropped promise in a
// controller is a silently lost write.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

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
      "no-restricted-imports": [
        "error",
        {
          paths: [
            { name: "@kubernetes/client-node", message: "only src/controller/kube-adapter.ts and test/env may import client-node" },
            { name: "execa", message: "only src/executors/host-runner.ts may import execa" },
          ],
        },
      ],
    },
  },
  {
    files: ["src/controller/kube-adapter.ts", "src/controller/kube/**", "test/**", "scripts/**"],
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
