import type { MetricDef } from '../common/metric-names.js';
import { activityContext } from './activity-context.js';

type Labels<M extends MetricDef> = Record<M['labels'][number], string>;

/**
 * Adds to a spokeflow counter through the running activity's metric meter, so it is served on the
 * worker's Prometheus endpoint with the SDK's metrics. Without a metrics exporter the SDK's meter
 * does nothing; outside an activity (a bench calling a factory directly) neither does this.
 */
export function countMetric<M extends MetricDef & { kind: 'counter' }>(metric: M, value: number, labels: Labels<M>): void {
  if (!(value > 0)) return; // a counter only goes up; zero adds nothing
  activityContext()?.metricMeter.createCounter(metric.name, metric.unit, metric.help).add(Math.round(value), labels);
}

/** Sets a spokeflow gauge, as countMetric does a counter. */
export function setMetric<M extends MetricDef & { kind: 'gauge' }>(metric: M, value: number, labels: Labels<M>): void {
  if (!Number.isFinite(value)) return;
  activityContext()?.metricMeter.createGauge(metric.name, 'float', metric.unit, metric.help).set(value, labels);
}
