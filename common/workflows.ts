import type { z } from 'zod';
import { AnomalyScanInput } from './anomaly-scan.js';
import { BackfillInput, backfillWorkflowId } from './backfill.js';
import { QualityChecksInput } from './checks.js';
import { DigestInput, digestScopeLabel, periodKeyOf } from './digest.js';
import { HealthScoringInput } from './health.js';
import { PipelineSpec, unregisteredWorkflows } from './pipeline/spec.js';
import { EmbeddingRefreshInput } from './knowledge.js';
import { SyncInput } from './sync.js';
import type { Domain } from './task-queues.js';
import {
  EMBEDDING_REFRESH_WORKFLOW_ID,
  anomalyScanWorkflowId,
  digestWorkflowId,
  healthScoringWorkflowId,
  pipelineWorkflowId,
  qualityChecksWorkflowId,
  syncWorkflowId,
} from './workflow-ids.js';

/** Temporal's overlap policies, by the names the SDK and the `temporal` CLI use. */
export const OVERLAP_POLICIES = ['SKIP', 'BUFFER_ONE', 'BUFFER_ALL', 'CANCEL_OTHER', 'TERMINATE_OTHER', 'ALLOW_ALL'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** How far a run is, from its `progress` query: what the CLI's progress bar shows. */
export interface RunMeasure {
  done: number;
  total: number;
  unit: string;
}

/** What the CLI, schedules, pipelines and docs know about a workflow of the pack. */
export interface WorkflowEntry {
  /** Whose task queue its runs go to. */
  domain: Domain;
  /** The SpokeflowKind search attribute of its runs. */
  kind: string;
  /** Its input schema: the source of validation, CLI help and the JSON Schema export. */
  input: z.ZodType;
  /** Whether a schedule may start it: the periodic processes (a backfill is started by a person). */
  schedulable: boolean;
  /** The overlap policy its schedules default to. */
  overlap: OverlapPolicy;
  /** How far a run is, read from the value of its `progress` query. */
  progressOf(progress: Record<string, unknown>): RunMeasure;
  /** The workflow id of a run: one run per dataset (or scope) at a time. */
  workflowIdOf(input: unknown): string;
  /** The dataset a run works on (SpokeflowDataset), from its validated input. */
  datasetOf(input: unknown): string | undefined;
  /** Every catalog dataset a run's input names, checked by the CLI before it starts one. */
  datasetsNamed(input: unknown): string[];
  /** What a run does, in a few words: its static summary in the Web UI. */
  summaryOf(input: unknown): string;
}

function entry<S extends z.ZodType>(e: {
  domain: Domain;
  kind: string;
  input: S;
  schedulable: boolean;
  overlap: OverlapPolicy;
  progressOf(progress: Record<string, unknown>): RunMeasure;
  workflowIdOf(input: z.output<S>): string;
  datasetOf(input: z.output<S>): string | undefined;
  /** Defaults to the one of `datasetOf`. */
  datasetsNamed?(input: z.output<S>): string[];
  summaryOf(input: z.output<S>): string;
}): WorkflowEntry {
  return {
    ...e,
    workflowIdOf: (raw) => e.workflowIdOf(e.input.parse(raw)),
    datasetOf: (raw) => e.datasetOf(e.input.parse(raw)),
    datasetsNamed: (raw) => {
      const input = e.input.parse(raw);
      const one = e.datasetOf(input);
      return e.datasetsNamed?.(input) ?? (one ? [one] : []);
    },
    summaryOf: (raw) => e.summaryOf(e.input.parse(raw)),
  };
}

/** A number field of a progress query's value (0 when absent: the run has not got that far). */
function count(progress: Record<string, unknown>, key: string): number {
  const v = progress[key];
  return typeof v === 'number' ? v : 0;
}

/** Every workflow of the pack, by workflow type: the one list a newcomer reads to see what runs. */
export const WORKFLOWS: Readonly<Record<string, WorkflowEntry>> = {
  syncWorkflow: entry({
    domain: 'ingestion',
    kind: 'sync',
    input: SyncInput,
    schedulable: true,
    // SKIP would silently drop a tick whenever a sync overruns; BUFFER_ONE runs it right after, queueing at most one.
    overlap: 'BUFFER_ONE',
    progressOf: (p) => ({
      done: count(p, 'rows') + count(p, 'quarantined'),
      total: Math.max(count(p, 'estimatedRows'), count(p, 'rows') + count(p, 'quarantined')),
      unit: 'rows',
    }),
    workflowIdOf: (input) => syncWorkflowId(input.dataset),
    datasetOf: (input) => input.dataset,
    summaryOf: (input) => `${input.mode === 'full' ? 'full sync' : 'sync'} ${input.dataset}`,
  }),
  backfillWorkflow: entry({
    domain: 'ingestion',
    kind: 'backfill',
    input: BackfillInput,
    schedulable: false,
    overlap: 'BUFFER_ONE',
    progressOf: (p) => ({ done: count(p, 'succeeded') + count(p, 'failed'), total: count(p, 'toRun'), unit: 'partitions' }),
    workflowIdOf: (input) => backfillWorkflowId(input.dataset),
    datasetOf: (input) => input.dataset,
    summaryOf: (input) => `backfill ${input.dataset} ${input.from} … ${input.to} (${input.mode})`,
  }),
  anomalyScanWorkflow: entry({
    domain: 'quality',
    kind: 'anomaly-scan',
    input: AnomalyScanInput,
    schedulable: true,
    overlap: 'BUFFER_ONE',
    progressOf: (p) => ({ done: count(p, 'groupsDone'), total: count(p, 'groups'), unit: 'dataset groups' }),
    workflowIdOf: anomalyScanWorkflowId,
    datasetOf: (input) => (input.datasets?.length === 1 ? input.datasets[0] : undefined),
    datasetsNamed: (input) => input.datasets ?? [],
    summaryOf: (input) =>
      `anomaly scan of ${input.team ? `team ${input.team}` : input.datasets ? `${input.datasets.length} datasets` : 'every dataset'}`,
  }),
  healthScoringWorkflow: entry({
    domain: 'quality',
    kind: 'health-scoring',
    input: HealthScoringInput,
    schedulable: true,
    overlap: 'BUFFER_ONE',
    progressOf: (p) => ({ done: count(p, 'scored'), total: count(p, 'datasets'), unit: 'datasets' }),
    workflowIdOf: healthScoringWorkflowId,
    datasetOf: () => undefined,
    summaryOf: (input) => `health scores of ${input.team ? `team ${input.team}` : 'every dataset'}${input.day ? ` for ${input.day}` : ''}`,
  }),
  qualityChecksWorkflow: entry({
    domain: 'quality',
    kind: 'quality-checks',
    input: QualityChecksInput,
    schedulable: true,
    overlap: 'BUFFER_ONE',
    progressOf: (p) => ({ done: count(p, 'datasetsDone'), total: count(p, 'datasets'), unit: 'datasets' }),
    workflowIdOf: qualityChecksWorkflowId,
    datasetOf: (input) => input.dataset,
    summaryOf: (input) =>
      `${input.checks ? `checks ${input.checks.join(', ')}` : 'data-quality checks'} of ${input.dataset ?? (input.team ? `team ${input.team}` : 'every dataset with checks')}`,
  }),
  embeddingRefreshWorkflow: entry({
    domain: 'knowledge',
    kind: 'embedding-refresh',
    input: EmbeddingRefreshInput,
    schedulable: true,
    // One refresh of the index at a time; a tick that finds one running waits for it.
    overlap: 'BUFFER_ONE',
    progressOf: (p) => ({ done: count(p, 'scanned'), total: Math.max(count(p, 'entries'), count(p, 'scanned')), unit: 'catalog entries' }),
    workflowIdOf: () => EMBEDDING_REFRESH_WORKFLOW_ID,
    datasetOf: () => undefined,
    summaryOf: (input) => `${input.reembed ? 're-embed' : 'refresh the semantic index of'} the catalog`,
  }),
  digestWorkflow: entry({
    domain: 'notifications',
    kind: 'digest',
    input: DigestInput,
    schedulable: true,
    overlap: 'BUFFER_ONE',
    progressOf: (p) => ({ done: count(p, 'pagesDone'), total: count(p, 'pages'), unit: 'pages of recipients' }),
    // Without a date (a schedule's "yesterday") the id names the kind only: one such run at a time.
    workflowIdOf: (input) => digestWorkflowId(input, input.period.date ? periodKeyOf(input, Date.now()) : input.period.kind),
    datasetOf: () => undefined,
    summaryOf: (input) =>
      `${input.period.kind} digest${input.period.date ? ` of ${input.period.date}` : ''} to ${input.audience} of ${digestScopeLabel(input.scope)} by ${input.channels.join(' + ')}`,
  }),
  pipelineWorkflow: entry({
    // Runs on the ingestion queue: see workers/pipeline-plugin.ts for why.
    domain: 'ingestion',
    kind: 'pipeline',
    // Checked against this registry too (at parse time, when WORKFLOWS exists).
    input: PipelineSpec.superRefine((spec, ctx) => {
      for (const p of unregisteredWorkflows(spec, (name) => workflowEntry(name) !== undefined)) ctx.addIssue({ code: 'custom', ...p });
    }),
    schedulable: true,
    overlap: 'BUFFER_ONE',
    progressOf: (p) => ({ done: count(p, 'finished'), total: count(p, 'total'), unit: 'nodes' }),
    workflowIdOf: (spec) => pipelineWorkflowId(spec),
    datasetOf: () => undefined,
    summaryOf: (spec) => spec.summary ?? `pipeline ${spec.id} (${spec.modules.length} nodes)`,
  }),
};

export const WORKFLOW_TYPES: readonly string[] = Object.keys(WORKFLOWS);

export function workflowEntry(workflowType: string): WorkflowEntry | undefined {
  return Object.hasOwn(WORKFLOWS, workflowType) ? WORKFLOWS[workflowType] : undefined;
}

/** The periodic processes: the workflow types a schedule may start. */
export const SCHEDULABLE_WORKFLOW_TYPES: readonly string[] = WORKFLOW_TYPES.filter((type) => WORKFLOWS[type]!.schedulable);

export function schedulableWorkflow(workflowType: string): WorkflowEntry | undefined {
  const entry = workflowEntry(workflowType);
  return entry?.schedulable ? entry : undefined;
}
export { DOMAINS, TaskQueue, type Domain } from './task-queues.js';
