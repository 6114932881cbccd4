/**
 * Deterministic object keys: a retried write lands on the same key, so it overwrites rather
 * than duplicates. `<dataset>/<run day>/<sync run id>/part-000001.parquet`.
 */
export function bronzeRunPrefix(dataset: string, runDay: string, syncRunId: string): string {
  return `${dataset}/${runDay}/${syncRunId}`;
}

export function bronzePartKey(runPrefix: string, seq: number): string {
  return `${runPrefix}/part-${String(seq).padStart(6, '0')}.parquet`;
}

export function quarantinePartKey(runPrefix: string, seq: number): string {
  return `_quarantine/${runPrefix}/part-${String(seq).padStart(6, '0')}.jsonl`;
}

export function manifestKey(runPrefix: string): string {
  return `${runPrefix}/_manifest.json`;
}

/** A check's failing-row sample: `_checks/<dataset>/<run id>/<check id>.parquet`, one per run and check. */
export function checkSampleKey(dataset: string, runId: string, checkId: string): string {
  return `_checks/${dataset}/${runId}/${checkId}.parquet`;
}
