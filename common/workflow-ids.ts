import type { AnomalyScanInput } from './anomaly-scan.js';
import type { QualityChecksInput } from './checks.js';
import type { DigestInput } from './digest.js';
import type { HealthScoringInput } from './health.js';

/**
 * Workflow ids: one run per dataset (or scope) at a time, since Temporal refuses a second run
 * under an id that is running. The registry (common/workflows.ts) builds every run's id from these.
 */

export function syncWorkflowId(dataset: string): string {
  return `sync:${dataset}`;
}

export function anomalyScanWorkflowId(input: Pick<AnomalyScanInput, 'team' | 'datasets'>): string {
  return `anomaly-scan:${input.team ?? (input.datasets ? input.datasets.join(',').slice(0, 200) : 'all')}`;
}

export function healthScoringWorkflowId(input: Pick<HealthScoringInput, 'team'>): string {
  return `health-scoring:${input.team ?? 'all'}`;
}

/** One refresh of the semantic index at a time. */
export const EMBEDDING_REFRESH_WORKFLOW_ID = 'embedding-refresh';

/** One run per audience, period and scope at a time. */
export function digestWorkflowId(input: Pick<DigestInput, 'audience' | 'scope'>, period: string): string {
  const scope =
    'team' in input.scope
      ? `team=${input.scope.team}`
      : 'owners' in input.scope
        ? `owners=${[...input.scope.owners].sort().join(',')}`
        : 'all';
  return `digest:${input.audience}:${period}:${scope}`.slice(0, 800);
}

export function pipelineWorkflowId(spec: { id: string }): string {
  return `pipeline:${spec.id}`;
}

/** One run of checks per dataset, team or the whole catalog at a time. */
export function qualityChecksWorkflowId(input: Pick<QualityChecksInput, 'dataset' | 'team'>): string {
  return `quality-checks:${input.dataset ?? (input.team ? `team:${input.team}` : 'all')}`;
}
