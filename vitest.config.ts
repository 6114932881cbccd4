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
        // Stub activities on one time-skipping test server and one workflow bundle for all files: no stack needed.
        // Files run one at a time (time skipping is global to the server) in one process (the SDK loads once).
        test: {
          name: 'workflows',
          include: ['test/workflows/**/*.test.ts'],
          globalSetup: ['test/workflows/global-setup.ts'],
          isolate: false,
          testTimeout: 30_000,
        },
      },
    ],
  },
});
