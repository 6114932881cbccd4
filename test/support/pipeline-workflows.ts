import { ApplicationFailure } from '@temporalio/workflow';

// What a team's own workflow module looks like when its worker also runs spokeflow pipelines:
// spokeflow's workflows re-exported, plus workflows of its own that specs start as children.
export * from '../../workflows/index.js';

/** A team's own workflow, started by pipelines as a child on the team's task queue. */
export async function pipelineTestChild(input: { n: number; fail?: boolean }): Promise<{ doubled: number }> {
  if (input.fail) throw ApplicationFailure.nonRetryable(`child asked to fail with n=${input.n}`, 'TestFailure');
  return { doubled: input.n * 2 };
}
