import type { NextConfig } from "next";

const config: NextConfig = {
  // Every path the route does not already have (/v1, /channels, /tick, the dashboard) goes to agentd.
  async rewrites() {
    return { beforeFiles: [], afterFiles: [], fallback: [{ source: "/:path*", destination: "/api/:path*" }] };
  },
};

export default config;
