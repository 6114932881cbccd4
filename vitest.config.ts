import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Integration files share one stack and two cores: run them one at a time.
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'integration', include: ['test/integration/**/*.test.ts'], globalSetup: ['test/global-setup.ts'] },
      },
      {
        extends: true,
        // Time-skipping test server and stub activities: no stack needed, one workflow bundle for all files.
        test: { name: 'workflows', include: ['test/workflows/**/*.test.ts'], globalSetup: ['test/workflows/global-setup.ts'], testTimeout: 30_000 },
      },
    ],
  },
});
