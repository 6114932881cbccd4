import { workflowInfo, type WorkflowInterceptors } from '@temporalio/workflow';

/**
 * The memo field that makes a test run see `continueAsNewSuggested` once its history has this
 * many events. The real server suggests it at thousands of events or megabytes; the time-skipping
 * test server never does, so without this a test could not reach a workflow's continue-as-new
 * path that only follows the suggestion. Bundled into the test workers only.
 */
export const SUGGEST_CONTINUE_AS_NEW_AT = 'testSuggestContinueAsNewAtEvents';

export const interceptors = (): WorkflowInterceptors => ({
  internals: [
    {
      activate(input, next) {
        const info = workflowInfo();
        const at = info.memo?.[SUGGEST_CONTINUE_AS_NEW_AT];
        // The SDK sets a fresh info object per activation, before this runs: the flag holds for this activation only,
        // and is derived from the history alone, so a replay sees the same.
        if (typeof at === 'number' && info.historyLength >= at) (info as { continueAsNewSuggested: boolean }).continueAsNewSuggested = true;
        next(input);
      },
    },
  ],
  outbound: [
    {
      // The next run keeps the rule, whatever the server does with memos on continue-as-new.
      async continueAsNew(input, next) {
        const memo = workflowInfo().memo;
        return next(memo && !input.options.memo ? { ...input, options: { ...input.options, memo } } : input);
      },
    },
  ],
});
