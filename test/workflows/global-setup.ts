import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The workflow bundle every test file's workers load: webpack runs once per `vitest run`. */
    workflowBundlePath: string;
  }
}

/**
 * Bundles the pack's workflows (plus the pipeline tests'
 * child workflow and the test interceptor), once for all the files.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../support/pipeline-workflows.ts', import.meta.url)),
    workflowInterceptorModules: [fileURLToPath(new URL('./support/suggest-continue-as-new.ts', import.meta.url))],
    logger: new DefaultLogger('WARN'),
  });
  const dir = await mkdtemp(join(tmpdir(), 'spokeflow-workflow-bundle-'));
  const path = join(dir, 'workflows.js');
  await writeFile(path, code);
  project.provide('workflowBundlePath', path);
  return async () => {
    await rm(dir, { recursive: true, force: true });
  };
}
