import type { Pool } from 'mysql2/promise';
import { digestScopeLabel, type DigestSpec, type DigestTotals } from '../../common/digest.js';

export type DigestRunStatus = 'succeeded' | 'partial' | 'failed' | 'cancelled';

/** How each digest run ended, failures included: the delivery ledger says only what was sent. */
export function createDigestRuns(mysql: Pool) {
  return {
    async start(spec: DigestSpec): Promise<void> {
      await mysql.query(
        `INSERT INTO digest_runs (digest_run_id, workflow_id, period, audience, scope, status)
         VALUES (?, ?, ?, ?, ?, 'running') ON DUPLICATE KEY UPDATE digest_run_id = digest_run_id`,
        [spec.digestRunId, spec.workflowId, spec.period.key, spec.audience, digestScopeLabel(spec.scope).slice(0, 255)],
      );
    },

    async finish(digestRunId: string, status: DigestRunStatus, totals: DigestTotals, error?: string): Promise<void> {
      await mysql.query(
        `UPDATE digest_runs SET status = ?, recipients = ?, sent = ?, refused = ?, error = ?, finished_at = UTC_TIMESTAMP(6)
         WHERE digest_run_id = ?`,
        [status, totals.recipients, totals.sent, totals.failed, error ?? null, digestRunId],
      );
    },
  };
}
