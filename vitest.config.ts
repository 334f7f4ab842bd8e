import { defineConfig } from "vitest/config";

const alwaysExcluded = ["**/node_modules/**", "**/.next/**", "e2e/**", ".eventscope/**"];

export default defineConfig({
  resolve: { tsconfigPaths: true },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          environment: "node",
          include: ["**/*.test.ts"],
          exclude: [...alwaysExcluded, "**/*.int.test.ts"],
          // Unit tests run first; integration tests start brokers and processes and get the
          // machine (2 cores) to themselves.
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          // Components, rendered in jsdom and driven as a user would; fetch is stubbed per test.
          name: "components",
          environment: "jsdom",
          include: ["**/*.test.tsx"],
          exclude: alwaysExcluded,
          setupFiles: ["components/test-setup.ts"],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          environment: "node",
          include: ["**/*.int.test.ts"],
          // One PostgreSQL per run (embedded, or DATABASE_URL's); a database per test file.
          globalSetup: ["server/db/test-global-setup.ts"],
          exclude: alwaysExcluded,
          pool: "forks",
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
