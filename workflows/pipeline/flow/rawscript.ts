import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { createRawScriptActivities } from '../../../activities/scripts/rawscript.js';
import {
  RAWSCRIPT_DEFAULT_TIMEOUT_SECONDS,
  type RawScriptFailureDetails,
  type RawScriptOutcome,
  type ScriptLanguage,
} from '../../../common/openflow/rawscript.js';
import type { FlowModule, FlowModuleValue } from '../../../common/openflow/schema.js';
import { innermostFailure } from '../../support/failure-reason.js';
import { setNode } from '../state.js';
import { withRetries } from './kinds.js';
import { evaluateTransforms, type FlowRun, type FlowScope } from './scope.js';

/** Past the script's own limit: time to start it, strip its types and store its log. */
const ACTIVITY_MARGIN_SECONDS = 60;

/**
 * A `rawscript`: its input transforms as main's arguments, run by an activity on this flow's
 * worker (a child process with time and memory limits, or SQL on a declared connection). The step's
 * result is main's value; its log object is linked from the step's progress and any failure's
 * details. Retried per Windmill's `retry` (workflow timers between single attempts), each attempt
 * logged apart.
 */
export async function runRawScriptStep(
  run: FlowRun,
  m: FlowModule,
  v: Extract<FlowModuleValue, { type: 'rawscript' }>,
  scope: FlowScope,
): Promise<unknown> {
  const args = await evaluateTransforms(run, m.id, 'input_transforms', v.input_transforms, scope);
  const timeoutSeconds = typeof m.timeout === 'number' ? m.timeout : RAWSCRIPT_DEFAULT_TIMEOUT_SECONDS;
  const { runRawScript } = proxyActivities<ReturnType<typeof createRawScriptActivities>>({
    startToCloseTimeout: (timeoutSeconds + ACTIVITY_MARGIN_SECONDS) * 1000,
    retry: { maximumAttempts: 1 }, // Windmill's retry is the step's, below
    summary: `${run.spec.id}/${m.id}: rawscript ${v.language}`,
  });
  const shown = scope.iteration === undefined;
  const outcome = await withRetries(run, m, `rawscript ${v.language}`, scope, async (attempt) => {
    try {
      return await runRawScript({
        step: m.id,
        position: scope.iteration ?? '',
        attempt,
        language: v.language as ScriptLanguage, // checked against the languages that run before the run started
        content: v.content,
        args,
        timeoutSeconds,
      });
    } catch (err) {
      const failure = innermostFailure(err);
      const details = failure instanceof ApplicationFailure ? (failure.details?.[0] as RawScriptFailureDetails | undefined) : undefined;
      if (shown && details?.log) setNode(run, m.id, { log: details.log });
      throw err;
    }
  });
  if (shown) setNode(run, m.id, { log: (outcome as RawScriptOutcome).log });
  return outcome.result;
}
