// ESLint (flat config) for the project's JavaScript: jsglue/ (the product, ES modules),
// tests/js/, benchmarks/, demo/. Run by scripts/test.sh: `npx eslint .`
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", "build/", "**/.venv/", "benchmarks/results/", "benchmarks/build/", "**/node_modules/"] },
  js.configs.recommended,
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: {
      ecmaVersion: "latest",
      sourceType: "module",
      globals: { ...globals.browser, ...globals.worker, ...globals.node },
    },
    rules: {
      "no-unused-vars": ["error", { args: "none", caughtErrors: "none" }],
      "no-constant-condition": ["error", { checkLoops: false }],
      eqeqeq: ["error", "smart"],
      "prefer-const": "error",
      "no-var": "error",
    },
  },
  {
    // Worker scripts that tests hand to spawnScript as source text (classic scripts).
    files: ["tests/pyodide_lib/*.js"],
    languageOptions: { sourceType: "script" },
    rules: { "no-unused-vars": ["error", { args: "none", varsIgnorePattern: "^start$" }] },
  },
];
