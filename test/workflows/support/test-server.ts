import { fileURLToPath } from 'node:url';
import { SearchAttributeType } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ALL_SEARCH_ATTRIBUTES } from '../../../common/search-attributes.js';

const TEST_SERVER = fileURLToPath(new URL('../../../.stack/bin/temporal-test-server', import.meta.url));

/**
 * A time-skipping test server of the file's own, with spokeflow's search attributes. One per
 * file, not one for all: the server's time-skipping lock can leak (a run that ends with an
 * activity still outstanding never gives its lock back, temporalio/sdk-java#1138), and a leak
 * in one file would leave every later file's timers waiting in real time. Files run one at a
 * time, so a JVM per file costs a few seconds and never races another's start.
 */
export async function startTestServer(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: TEST_SERVER } } });
  // The test server knows no custom search attributes until told (IndexedValueType KEYWORD = 2, INT = 3).
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((k) => [k.name, k.type === SearchAttributeType.INT ? 3 : 2])),
  });
  return env;
}
