import { isCancellation } from '@temporalio/workflow';
import type { Module } from '../../../common/pipeline/spec.js';
import { failureOutput } from '../failures.js';
import { runList } from '../graph.js';
import type { NodeValue, PipelineRun, Scope } from '../state.js';

/** Every branch, at once or one after another; gives the list of their last outputs. */
export async function runBranchAllNode(run: PipelineRun, m: Module, v: NodeValue<'branchall'>, scope: Scope): Promise<unknown> {
  const one = async (i: number): Promise<unknown> => {
    const b = v.branches[i]!;
    try {
      return (await runList(run, b.modules, scope, false)).last;
    } catch (err) {
      if (!b.skip_failure || isCancellation(err)) throw err;
      return failureOutput(err, m.id);
    }
  };
  return runBranches(v.branches.length, v.parallel === true, one);
}

/**
 * Runs `count` branches one after another, or all at once; gives their outputs in order. At once,
 * every branch settles before the first failure is thrown, so none is left running behind it.
 */
export async function runBranches(count: number, parallel: boolean, one: (i: number) => Promise<unknown>): Promise<unknown[]> {
  if (!parallel) {
    const out: unknown[] = [];
    for (let i = 0; i < count; i++) out.push(await one(i));
    return out;
  }
  const settled = await Promise.allSettled(Array.from({ length: count }, (_, i) => one(i)));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
}
