import { isCancellation } from '@temporalio/workflow';
import { badValue, evaluateField } from '../../../common/pipeline/node-io.js';
import type { Module } from '../../../common/pipeline/spec.js';
import { failureOutput, kindOf } from '../failures.js';
import { runList } from '../graph.js';
import { setNode, tracked, type NodeValue, type PipelineRun, type Scope } from '../state.js';

/**
 * Runs its body once per element of the iterator's list, one at a time or up to `parallelism` at
 * once; gives the list of the bodies' results, or counts for wide loops (`collect: counts`).
 */
export async function runForLoopNode(run: PipelineRun, m: Module, v: NodeValue<'forloopflow'>, scope: Scope): Promise<unknown> {
  const list = v.iterator.type === 'static' ? v.iterator.value : evaluateField(m.id, 'iterator.expr', v.iterator.expr, scope);
  if (!Array.isArray(list)) throw badValue(m.id, 'iterator', `must give a list, not ${kindOf(list)}`);
  const shown = tracked(scope);
  const counts = { done: 0, failed: 0, total: list.length };
  if (shown) setNode(run, m.id, counts);
  const results: unknown[] = v.collect === 'all' ? new Array<unknown>(list.length).fill(null) : [];
  const errors: { index: number; item: unknown; node: string; error: string }[] = [];
  let next = 0;
  let failure: unknown;
  const lane = async (): Promise<void> => {
    while (next < list.length && failure === undefined) {
      const index = next++;
      const iteration = `${scope.iteration ?? ''}/${m.id}.${index}`;
      try {
        const body = await runList(run, v.modules, { ...scope, item: list[index], index, iteration }, false);
        if (v.collect === 'all') results[index] = body.last;
      } catch (err) {
        if (!v.skip_failures || isCancellation(err)) {
          failure ??= err;
          return;
        }
        const { error, node } = failureOutput(err, m.id);
        if (v.collect === 'all') results[index] = { error, node };
        else if (errors.length < 20)
          errors.push({ index, item: typeof list[index] === 'object' ? null : (list[index] as unknown), node, error });
        counts.failed++;
      }
      counts.done++;
      if (shown) setNode(run, m.id, counts);
    }
  };
  const width = v.parallel ? Math.min(v.parallelism ?? list.length, list.length) : Math.min(1, list.length);
  await Promise.all(Array.from({ length: width }, lane));
  if (failure !== undefined) throw failure;
  if (v.collect === 'all') return results;
  return { total: list.length, succeeded: counts.done - counts.failed, failed: counts.failed, errors: errors.slice(0, 20) };
}
