import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // kafkajs is only ever loaded on the server; bundling it gains nothing and breaks its dynamic requires.
  // The same goes for the database packages next to pg and @prisma/client (which Next already
  // leaves external).
  serverExternalPackages: ["kafkajs", "pg-copy-streams", "@prisma/adapter-pg"],
};

export default nextConfig;
