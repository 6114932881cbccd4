import type { IngestionActivities } from '../../../activities/ingestion/index.js';
import type { LeaseHolder } from '../../../common/lease.js';

type LeaseActivities = Pick<IngestionActivities, 'takeDatasetLease' | 'renewDatasetLease' | 'releaseDatasetLease'>;

/** Dataset leases in memory, as the catalog keeps them (without expiry): for workflow tests. */
export function inMemoryLeases(): { activities: LeaseActivities; held: Map<string, LeaseHolder> } {
  const held = new Map<string, LeaseHolder>();
  const same = (a: LeaseHolder | undefined, b: LeaseHolder) => a?.workflowId === b.workflowId && a.runId === b.runId;
  const activities: LeaseActivities = {
    async takeDatasetLease({ dataset, holder }) {
      const current = held.get(dataset);
      if (current && !same(current, holder)) return { taken: false, holder: current, expiresAt: '2099-01-01T00:00:00Z' };
      held.set(dataset, holder);
      return { taken: true };
    },
    async renewDatasetLease({ dataset, holder }) {
      return same(held.get(dataset), holder);
    },
    async releaseDatasetLease({ dataset, holder }) {
      if (same(held.get(dataset), holder)) held.delete(dataset);
    },
  };
  return { activities, held };
}
