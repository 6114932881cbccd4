/**
 * Every Prometheus metric spokeflow itself emits (through the SDK's metric meter, on the worker's
 * /metrics beside the SDK's own), and the SDK metrics its dashboard reads. The emitters
 * (activities/activity-metrics.ts), the Grafana dashboard's test and the scrape test use this list.
 */
export interface MetricDef {
  name: string;
  kind: 'counter' | 'gauge';
  unit: string;
  help: string;
  /** Low-cardinality labels only: never a run id. The SDK adds namespace, taskQueue and activityType. */
  labels: readonly string[];
}

export const SPOKEFLOW_METRICS = {
  rowsSynced: {
    name: 'spokeflow_rows_synced_total',
    kind: 'counter',
    unit: 'rows',
    help: 'rows committed to silver by syncs and backfill partitions',
    labels: ['dataset'],
  },
  rowsQuarantined: {
    name: 'spokeflow_rows_quarantined_total',
    kind: 'counter',
    unit: 'rows',
    help: 'source rows silver cannot hold, written to the quarantine in MinIO',
    labels: ['dataset'],
  },
  syncRuns: {
    name: 'spokeflow_sync_runs_total',
    kind: 'counter',
    unit: 'runs',
    help: 'syncs ended, by outcome (succeeded, failed, cancelled)',
    labels: ['dataset', 'status'],
  },
  syncLag: {
    name: 'spokeflow_sync_lag_seconds',
    kind: 'gauge',
    unit: 's',
    help: "age of the newest row a dataset's last successful sync copied (timestamp cursors only)",
    labels: ['dataset'],
  },
  anomaliesFound: {
    name: 'spokeflow_anomalies_found_total',
    kind: 'counter',
    unit: 'anomalies',
    help: 'anomalies the scans found (a retried scan group counts its anomalies again)',
    labels: ['dataset', 'metric'],
  },
  checksFailed: {
    name: 'spokeflow_checks_failed_total',
    kind: 'counter',
    unit: 'checks',
    help: 'data-quality checks that failed, by severity (a retried run counts its failures again)',
    labels: ['dataset', 'severity'],
  },
  digestsSent: {
    name: 'spokeflow_digests_sent_total',
    kind: 'counter',
    unit: 'digests',
    help: 'digests delivered, by channel',
    labels: ['channel'],
  },
  digestsResent: {
    name: 'spokeflow_digests_resent_total',
    kind: 'counter',
    unit: 'digests',
    help: 'digests sent again after a crash left their first send unconfirmed (same Message-ID)',
    labels: ['channel'],
  },
  digestsFailed: {
    name: 'spokeflow_digests_failed_total',
    kind: 'counter',
    unit: 'digests',
    help: 'digests the channel refused for good',
    labels: ['channel'],
  },
  modelTexts: {
    name: 'spokeflow_model_texts_total',
    kind: 'counter',
    unit: 'texts',
    help: 'texts the embedding model embedded',
    labels: ['model'],
  },
  modelTextsPerSecond: {
    name: 'spokeflow_model_texts_per_second',
    kind: 'gauge',
    unit: 'texts/s',
    help: "the embedding model's speed on its last batch",
    labels: ['model'],
  },
} as const satisfies Record<string, MetricDef>;

/**
 * The SDK's own metrics the dashboard reads, as its Prometheus endpoint names them once a worker
 * has run a workflow (the scrape test checks each). Histograms add _bucket, _sum and _count. Its
 * failure counters appear only after a first failure, so failures are read from spokeflow_sync_runs_total.
 */
export const SDK_METRICS = [
  'temporal_workflow_completed',
  'temporal_workflow_endtoend_latency',
  'temporal_activity_execution_latency',
  'temporal_activity_schedule_to_start_latency',
  'temporal_workflow_task_schedule_to_start_latency',
  'temporal_worker_task_slots_available',
] as const;

/** Every metric name the dashboard may use. */
export const DASHBOARD_METRIC_NAMES: readonly string[] = [...Object.values(SPOKEFLOW_METRICS).map((m) => m.name), ...SDK_METRICS];
