import type { FlowModule, InputTransform } from '../../../common/openflow/schema.js';
import { badValue } from '../../../common/pipeline/node-io.js';
import type { Module } from '../../../common/pipeline/spec.js';
import { kindOf } from '../failures.js';
import { runSleepNode } from '../nodes/sleep.js';
import { runSuspendNode } from '../nodes/suspend.js';
import { evaluateOne, type FlowRun, type FlowScope } from './scope.js';

/** Windmill's default wait for an approval: 30 minutes. */
const DEFAULT_SUSPEND_SECONDS = 1_800;

/** The pipeline node a step option runs as: suspend and sleep reuse the pipeline's own nodes. */
function asNode(m: FlowModule, value: Module['value']): Module {
  return { id: m.id, ...(m.summary ? { summary: m.summary } : {}), after: [], continue_on_error: false, value };
}

/**
 * After the step, as Windmill orders them: `suspend` waits for an `approve` update (a rejection or
 * the timeout fails the step), then `sleep` waits its seconds. Gives the decision (`resume`).
 */
export async function pauseAfter(run: FlowRun, m: FlowModule, scope: FlowScope, result: unknown): Promise<unknown> {
  let resume: unknown;
  const suspend = m.suspend as { timeout?: number } | undefined;
  if (suspend) {
    const timeout = (suspend.timeout ?? DEFAULT_SUSPEND_SECONDS) * 1000;
    resume = await runSuspendNode(run, asNode(m, { type: 'suspend', timeout, on_timeout: 'reject', continue_on_reject: false }), {
      type: 'suspend',
      timeout,
      on_timeout: 'reject',
      continue_on_reject: false,
    });
  }
  if (m.sleep) {
    const seconds = await evaluateOne(run, m.id, 'sleep', m.sleep as InputTransform, { ...scope, previous_result: result });
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0)
      throw badValue(m.id, 'sleep', `must give a number of seconds, not ${kindOf(seconds)}`);
    const duration = Math.round(seconds * 1000);
    await runSleepNode(
      run,
      asNode(m, { type: 'sleep', duration }),
      { type: 'sleep', duration },
      {
        input: scope.flow_input,
        nodes: {},
        ...(scope.iteration !== undefined ? { iteration: scope.iteration } : {}),
      },
    );
  }
  return resume ?? scope.resume;
}
