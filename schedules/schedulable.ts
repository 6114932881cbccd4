import { WORKFLOWS, type WorkflowEntry } from '../common/workflows.js';

export { OVERLAP_POLICIES, type OverlapPolicy } from '../common/workflows.js';

/** What a schedule needs to know about a workflow it may start: its entry in the pack's registry. */
export type SchedulableWorkflow = WorkflowEntry;

/** The periodic processes: the workflows a schedule may start, by workflow type. */
export const SCHEDULABLE_WORKFLOWS: Readonly<Record<string, SchedulableWorkflow>> = {
  syncWorkflow: WORKFLOWS.syncWorkflow!,
  anomalyScanWorkflow: WORKFLOWS.anomalyScanWorkflow!,
  healthScoringWorkflow: WORKFLOWS.healthScoringWorkflow!,
  embeddingRefreshWorkflow: WORKFLOWS.embeddingRefreshWorkflow!,
  digestWorkflow: WORKFLOWS.digestWorkflow!,
  pipelineWorkflow: WORKFLOWS.pipelineWorkflow!,
};

export const SCHEDULABLE_WORKFLOW_TYPES: readonly string[] = Object.keys(SCHEDULABLE_WORKFLOWS);

export function schedulableWorkflow(workflowType: string): SchedulableWorkflow | undefined {
  return Object.hasOwn(SCHEDULABLE_WORKFLOWS, workflowType) ? SCHEDULABLE_WORKFLOWS[workflowType] : undefined;
}
