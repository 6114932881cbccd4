import type { z } from 'zod';
import { SyncInput } from '../common/sync.js';
import type { Domain } from '../common/task-queues.js';

/** Temporal's overlap policies, by the names the SDK and the `temporal` CLI use. */
export const OVERLAP_POLICIES = ['SKIP', 'BUFFER_ONE', 'BUFFER_ALL', 'CANCEL_OTHER', 'TERMINATE_OTHER', 'ALLOW_ALL'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** What a schedule needs to know about a workflow it may start. */
export interface SchedulableWorkflow {
  /** Whose task queue the runs go to unless a declaration names another. */
  domain: Domain;
  /** The SpokeflowKind search attribute of the runs. */
  kind: string;
  /** The workflow's own input schema: a declaration's input must pass it. */
  input: z.ZodType;
  overlap: OverlapPolicy;
  /** The dataset a run works on (SpokeflowDataset), from its validated input. */
  datasetOf(input: unknown): string | undefined;
  /** What a run does, in a few words: the default summary of the schedule's runs. */
  summaryOf(input: unknown): string;
}

function schedulable<S extends z.ZodType>(entry: {
  domain: Domain;
  kind: string;
  input: S;
  overlap: OverlapPolicy;
  datasetOf(input: z.output<S>): string | undefined;
  summaryOf(input: z.output<S>): string;
}): SchedulableWorkflow {
  return {
    ...entry,
    datasetOf: (raw) => entry.datasetOf(entry.input.parse(raw)),
    summaryOf: (raw) => entry.summaryOf(entry.input.parse(raw)),
  };
}

/** The workflows a schedule may start, by workflow type. */
export const SCHEDULABLE_WORKFLOWS: Readonly<Record<string, SchedulableWorkflow>> = {
  syncWorkflow: schedulable({
    domain: 'ingestion',
    kind: 'sync',
    input: SyncInput,
    // SKIP would silently drop a tick whenever a sync overruns; BUFFER_ONE runs it right after, queueing at most one.
    overlap: 'BUFFER_ONE',
    datasetOf: (input) => input.dataset,
    summaryOf: (input) => `${input.mode === 'full' ? 'full sync' : 'sync'} ${input.dataset}`,
  }),
};

export const SCHEDULABLE_WORKFLOW_TYPES: readonly string[] = Object.keys(SCHEDULABLE_WORKFLOWS);

export function schedulableWorkflow(workflowType: string): SchedulableWorkflow | undefined {
  return Object.hasOwn(SCHEDULABLE_WORKFLOWS, workflowType) ? SCHEDULABLE_WORKFLOWS[workflowType] : undefined;
}
