import type { InfluxDB } from '@influxdata/influxdb-client';
import { Context } from '@temporalio/activity';
import type { Pool } from 'mysql2/promise';
import {
  emptyTotals,
  type AnomalyScanInput,
  type ScanGroupInput,
  type ScanPlan,
  type ScanSpec,
  type ScanTotals,
  type ScanWindow,
} from '../../common/anomaly-scan.js';
import { SPOKEFLOW_METRICS } from '../../common/metric-names.js';
import { countMetric } from '../activity-metrics.js';
import { createAnomalyStore, type ScanStatus } from '../catalog/anomaly-store.js';
import { DEFAULT_DETECTOR_OPTIONS } from './detector.js';
import { createMetricSeries } from '../metrics/metric-series.js';
import { exclusionsFor, indexFeedback, SCORE_STRIDE, seriesId, type FoundAnomaly, type SeriesScan } from './scan-series.js';
import { createScoringQueue } from './scoring-queue.js';
import { inlineScorer, type SeriesScorer } from './series-scorer.js';

export interface QualityDeps {
  /** MySQL catalog database: scans, anomalies, exclusions, feedback. */
  catalog: Pool;
  influx: InfluxDB;
  influxOrg: string;
  influxBucket: string;
  /** Where the detector runs: a thread of its own in a worker (see createThreadScorer); inline by default. */
  scorer?: SeriesScorer;
}

/** The anomaly scan's activities: each reads and writes the stores and returns only counts. */
export function createQualityActivities(deps: QualityDeps) {
  const store = createAnomalyStore(deps.catalog);
  const series = createMetricSeries(deps.influx, deps.influxOrg, deps.influxBucket);
  const scorer = deps.scorer ?? inlineScorer();

  return {
    /**
     * Records the scan and lists its datasets: those named, or every dataset (of a team) with run
     * metrics in the window. The detector options are fixed here, defaults filled in.
     */
    async planScan(args: { scanId: string; workflowId: string; input: AnomalyScanInput; window: ScanWindow }): Promise<ScanPlan> {
      const { input, window } = args;
      const spec: ScanSpec = {
        scanId: args.scanId,
        window,
        metrics: [...new Set(input.metrics)],
        detector: {
          sensitivity: input.detector.sensitivity ?? DEFAULT_DETECTOR_OPTIONS.sensitivity,
          direction: input.detector.direction ?? DEFAULT_DETECTOR_OPTIONS.direction,
          minAbsoluteChange: input.detector.minAbsoluteChange ?? DEFAULT_DETECTOR_OPTIONS.minAbsoluteChange,
          minRelativeChange: input.detector.minRelativeChange ?? DEFAULT_DETECTOR_OPTIONS.minRelativeChange,
        },
      };
      await store.startScan(spec, args.workflowId, input.team);
      const datasets = input.datasets
        ? [...new Set(input.datasets)].sort()
        : await series.datasets({ startMs: window.fromMs, stopMs: window.toMs, team: input.team });
      return { spec, datasets };
    },

    /**
     * Scans a group of datasets: reads their series (training + window) in one pass, scores each
     * with one detector per series, writes the window's scores to InfluxDB and upserts the
     * anomalies into MySQL. Idempotent, so a retry simply does the group again.
     */
    async scanGroup({ spec, group, datasets }: ScanGroupInput): Promise<ScanTotals> {
      const ctx = Context.current();
      const { window, metrics } = spec;
      const beat = (phase: string, extra: Record<string, number> = {}) => ctx.heartbeat({ group, phase, ...extra });
      beat('reading');
      const [exclusions, feedback] = await Promise.all([
        store.exclusions(datasets, window.trainingFromMs, window.toMs),
        store.feedback(datasets, window.fromMs, window.toMs),
      ]);
      const verdicts = indexFeedback(feedback);

      // Series go to the scorer in bounded batches as soon as their table ends, while InfluxDB
      // sends the next ones; only each series' counts and anomalies are kept, not its points.
      const scans = new Map<string, { dataset: string; scan: SeriesScan }>();
      const writer = series.scoreWriter();
      const queue = createScoringQueue({
        scorer,
        window,
        options: spec.detector,
        context: (s) => ({
          exclusions: exclusionsFor(exclusions, s.dataset, s.metric),
          feedback: [...(verdicts.get(seriesId(s.dataset, s.metric, s.seriesKey)) ?? [])],
        }),
        scored(s, scan, scores) {
          scans.set(seriesId(s.dataset, s.metric, s.seriesKey), { dataset: s.dataset, scan });
          for (let k = 0; k < scores.length; k += SCORE_STRIDE) {
            writer.write({
              dataset: s.dataset,
              metric: s.metric,
              seriesKey: s.seriesKey,
              t: scores[k]!,
              score: scores[k + 1]!,
              expected: scores[k + 2]!,
              lower: scores[k + 3]!,
              upper: scores[k + 4]!,
            });
          }
        },
      });
      try {
        await series.read(
          { datasets, metrics, startMs: window.trainingFromMs, stopMs: window.toMs },
          { series: (s) => queue.add(s), drain: () => queue.drain(), rows: (rows) => beat('reading', { rows, scored: scans.size }) },
        );
        await queue.finish();
        beat('writing', { series: scans.size });
        await writer.close();
      } catch (err) {
        await queue.abort();
        await writer.close().catch(() => undefined);
        throw err;
      }

      const totals = emptyTotals();
      const found: FoundAnomaly[] = [];
      const seen = new Set<string>();
      for (const { dataset, scan } of scans.values()) {
        seen.add(dataset);
        totals.series++;
        totals.points += scan.points;
        totals.suppressed += scan.suppressed;
        totals.excludedPoints += scan.excluded;
        for (const a of scan.anomalies) found.push(a);
      }
      await store.upsertAnomalies(spec.scanId, found);
      await store.applyExclusionsAndFeedback(spec.scanId, datasets, metrics, window.fromMs, window.toMs);
      const byDatasetMetric = new Map<string, { dataset: string; metric: string; n: number }>();
      for (const a of found) {
        const k = `${a.dataset}\u0000${a.metric}`;
        const entry = byDatasetMetric.get(k) ?? { dataset: a.dataset, metric: a.metric, n: 0 };
        entry.n++;
        byDatasetMetric.set(k, entry);
      }
      for (const { dataset, metric, n } of byDatasetMetric.values()) countMetric(SPOKEFLOW_METRICS.anomaliesFound, n, { dataset, metric });
      totals.datasets = seen.size;
      totals.anomalies = found.length;
      totals.confirmed = found.filter((a) => a.confirmed).length;
      return totals;
    },

    async finishScan({ scanId, totals }: { scanId: string; totals: ScanTotals }): Promise<void> {
      await store.finishScan(scanId, 'succeeded', totals);
    },

    async failScan(args: {
      scanId: string;
      totals: ScanTotals;
      outcome: Exclude<ScanStatus, 'running' | 'succeeded'>;
      error: string;
    }): Promise<void> {
      await store.finishScan(args.scanId, args.outcome, args.totals, args.error);
    },
  };
}
export type QualityActivities = ReturnType<typeof createQualityActivities>;
