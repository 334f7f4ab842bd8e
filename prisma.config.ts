import path from "node:path";
import { defineConfig } from "prisma/config";
import { PrismaPg } from "@prisma/adapter-pg";

// Prisma 6.19 runs offline only with its JavaScript engine and a driver adapter: with the
// classic engine the CLI downloads binaries, which this project never does. The CLI is used for
// `prisma generate` (npm install) and `prisma migrate diff` (writing migrations); migrations are
// applied by our own runner in server/db/migrate.ts, so the adapter below is rarely connected.
export default defineConfig({
  schema: path.join("prisma", "schema.prisma"),
  migrations: { path: path.join("prisma", "migrations") },
  experimental: { adapter: true },
  engine: "js",
  async adapter() {
    return new PrismaPg({
      connectionString: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:54329/eventscope",
    });
  },
});
