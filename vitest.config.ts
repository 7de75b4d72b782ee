// Test discovery is limited to test/ so compiled copies under dist/ never run.
// Real-process suites set their own longer timeouts.
import { defineConfig } from "vitest/config";

export const config = defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});

// biome-ignore lint/style/noDefaultExport: vitest loads its config from the default export.
export default config;
