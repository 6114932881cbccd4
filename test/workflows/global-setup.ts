import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SearchAttributeType } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, bundleWorkflowCode } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { ALL_SEARCH_ATTRIBUTES } from '../../common/search-attributes.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The workflow bundle every test file's workers load: webpack runs once per `vitest run`. */
    workflowBundlePath: string;
    /** The time-skipping test server every test file connects to: one JVM per `vitest run`. */
    testServerAddress: string;
  }
}

const TEST_SERVER = fileURLToPath(new URL('../../.stack/bin/temporal-test-server', import.meta.url));

/**
 * Starts the time-skipping test server and bundles the pack's workflows (plus the pipeline tests'
 * child workflow and the test interceptor), once for all the files.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: TEST_SERVER } } });
  // The test server knows no custom search attributes until told (IndexedValueType KEYWORD = 2, INT = 3).
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((k) => [k.name, k.type === SearchAttributeType.INT ? 3 : 2])),
  });
  project.provide('testServerAddress', env.address);
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
    await env.teardown();
    await rm(dir, { recursive: true, force: true });
  };
}
