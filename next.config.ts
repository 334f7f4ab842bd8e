import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // kafkajs is only ever loaded on the server; bundling it gains nothing and breaks its dynamic requires.
  serverExternalPackages: ["kafkajs"],
};

export default nextConfig;
