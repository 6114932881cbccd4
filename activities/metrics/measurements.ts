import { Point } from '@influxdata/influxdb-client';

/**
 * Every InfluxDB measurement spokeflow writes and reads: its tags, and its fields with their
 * line-protocol type. Writers build points through `measurementPoint`, readers name fields and
 * tags through the types below, so the two sides cannot drift apart.
 */
export const MEASUREMENTS = {
  /** One point per sync run, stamped with the run's start. */
  sync_run: {
    tags: ['dataset', 'team', 'mode', 'status'],
    fields: {
      rows: 'int',
      bytes: 'int',
      objects: 'int',
      quarantined: 'int',
      deleted: 'int',
      duration_seconds: 'float',
      freshness_lag_seconds: 'float',
    },
  },
  /** One point per column of a sync run: its nulls. */
  sync_column: {
    tags: ['dataset', 'team', 'column'],
    fields: { nulls: 'int', null_rate: 'float' },
  },
  /** The anomaly scan's score of one point of one series. */
  anomaly_score: {
    tags: ['dataset', 'metric', 'series'],
    fields: { score: 'float', expected: 'float', lower: 'float', upper: 'float' },
  },
  /** A dataset's health for a day, stamped at the day's midnight UTC; `checks` only for a dataset with check results. */
  health_score: {
    tags: ['dataset', 'team'],
    fields: { score: 'float', documentation: 'float', freshness: 'float', reliability: 'float', quality: 'float', checks: 'float' },
  },
  /**
   * One data-quality check's result in a run, stamped with the run's start (a retried run
   * overwrites its points). Status is a field, not a tag, for the same reason.
   */
  check_result: {
    tags: ['dataset', 'team', 'check', 'kind', 'severity'],
    fields: { passed: 'int', errored: 'int', failing: 'int', failing_ratio: 'float', observed: 'float', duration_seconds: 'float' },
  },
  /** A team's health for a day, stamped at the day's midnight UTC. */
  team_health: {
    tags: ['team'],
    fields: { score: 'float', datasets: 'int', worst_score: 'float' },
  },
} as const satisfies Record<string, { tags: readonly string[]; fields: Record<string, 'int' | 'float'> }>;

export type Measurement = keyof typeof MEASUREMENTS;
export type TagOf<M extends Measurement> = (typeof MEASUREMENTS)[M]['tags'][number];
export type FieldOf<M extends Measurement> = keyof (typeof MEASUREMENTS)[M]['fields'] & string;

/** A point of a measurement: every tag given, fields typed as the table says; an undefined field is left out. */
export function measurementPoint<M extends Measurement>(
  measurement: M,
  tags: Record<TagOf<M>, string>,
  fields: Partial<Record<FieldOf<M>, number>>,
  at: Date,
): Point {
  const point = new Point(measurement);
  for (const tag of MEASUREMENTS[measurement].tags as readonly TagOf<M>[]) point.tag(tag, tags[tag]);
  const types = MEASUREMENTS[measurement].fields as Record<FieldOf<M>, 'int' | 'float'>;
  for (const [field, value] of Object.entries(fields) as [FieldOf<M>, number | undefined][]) {
    if (value === undefined) continue;
    if (types[field] === 'int') point.intField(field, value);
    else point.floatField(field, value);
  }
  return point.timestamp(at);
}
