import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // kafkajs is only ever loaded on the server; bundling it gains nothing and breaks its dynamic requires.
  // The same goes for the database packages next to pg and @prisma/client (which Next already
  // leaves external).
  // The compression codecs (server/kafka/codecs.ts) load native binaries: loaded, not bundled.
  serverExternalPackages: ["kafkajs", "pg-copy-streams", "@prisma/adapter-pg", "snappy", "lz4-napi", "@toondepauw/node-zstd"],
  typescript: {
    // The launchers (`npm run demo`, `npm start`) build the web UI on a first start and set this:
    // a build that only has to run skips Next's type check (a third of the build on two cores).
    // `npm run build` and `npm test` (tsc --noEmit) still check every type.
    ignoreBuildErrors: process.env.EVENTSCOPE_BUILD_SKIP_TYPECHECK === "1",
  },
};

export default nextConfig;
