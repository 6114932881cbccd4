import { sleep } from '@temporalio/workflow';
import { badValue, evaluateField } from '../../../common/pipeline/node-io.js';
import type { Module } from '../../../common/pipeline/spec.js';
import { kindOf } from '../failures.js';
import { setNode, tracked, type NodeValue, type PipelineRun, type Scope } from '../state.js';

/** A durable timer: a fixed duration, or until the time an expression gives. */
export async function runSleepNode(run: PipelineRun, m: Module, v: NodeValue<'sleep'>, scope: Scope): Promise<unknown> {
  let ms = v.duration ?? 0;
  if (v.until !== undefined) {
    const until = evaluateField(m.id, 'until', v.until, scope);
    const at = typeof until === 'string' ? Date.parse(until) : NaN;
    if (Number.isNaN(at)) throw badValue(m.id, 'until', `must give an ISO date-time, not ${kindOf(until)}`);
    ms = at - Date.now();
  }
  if (tracked(scope)) setNode(run, m.id, { status: 'sleeping' });
  if (ms > 0) await sleep(ms, { summary: `${run.spec.id}/${m.id}: sleep` });
  return { sleptMs: Math.max(0, ms) };
}
