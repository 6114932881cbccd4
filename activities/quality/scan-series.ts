import type { AnomalyMetric, ScanWindow } from '../../common/anomaly-scan.js';
import { createDetector, type DetectorOptions, type Member, type PointScore } from './detector.js';
import { explainAlert } from './explain.js';
import type { MetricSeries, ScorePoint } from '../metrics/metric-series.js';

/** A series' identity and points; the points may be plain or typed arrays. */
export type SeriesPoints = Pick<MetricSeries, 'dataset' | 'metric' | 'seriesKey'> & { t: ArrayLike<number>; v: ArrayLike<number> };

/** A period nobody wants alerts for (maintenance, a backfill, a known incident). */
export interface Exclusion {
  /** null: every dataset. */
  dataset: string | null;
  /** null: every metric. */
  metric: AnomalyMetric | null;
  fromMs: number;
  /** Exclusive. */
  toMs: number;
}

export type Verdict = 'normal' | 'anomaly';

export interface Feedback {
  dataset: string;
  metric: AnomalyMetric;
  seriesKey: string;
  atMs: number;
  verdict: Verdict;
}

export interface FoundAnomaly {
  dataset: string;
  metric: AnomalyMetric;
  seriesKey: string;
  atMs: number;
  value: number;
  expected: number;
  lower: number;
  upper: number;
  score: number;
  direction: 'up' | 'down' | 'none';
  /** Feedback called this point an anomaly (whether or not the detector alerted). */
  confirmed: boolean;
  /** The detector's members that carried the alert (none for a point only feedback confirmed). */
  members: Member[];
  /** The alert in plain words, e.g. "3.4× the usual Tuesday 09:00 UTC volume". */
  explanation: string;
}

export interface SeriesScan {
  anomalies: FoundAnomaly[];
  /** Points scored inside the window. */
  points: number;
  /** Alerts feedback called normal. */
  suppressed: number;
  /** Points (training or window) inside an exclusion. */
  excluded: number;
}

export const seriesId = (dataset: string, metric: string, seriesKey: string): string => `${dataset}\u0001${metric}\u0001${seriesKey}`;

/** Feedback by series, then by time. */
export function indexFeedback(feedback: Feedback[]): Map<string, Map<number, Verdict>> {
  const index = new Map<string, Map<number, Verdict>>();
  for (const f of feedback) {
    const id = seriesId(f.dataset, f.metric, f.seriesKey);
    let byTime = index.get(id);
    if (!byTime) index.set(id, (byTime = new Map()));
    byTime.set(f.atMs, f.verdict);
  }
  return index;
}

export function exclusionsFor(all: Exclusion[], dataset: string, metric: AnomalyMetric): Exclusion[] {
  return all.filter((e) => (e.dataset === null || e.dataset === dataset) && (e.metric === null || e.metric === metric));
}

/**
 * Scores one series causally over training + window and returns what the window holds.
 *
 * Points inside an exclusion are skipped entirely — neither reported nor learnt from: an
 * excluded period is one someone declared abnormal (a backfill, an outage), and learning it would
 * move the baseline and widen the noise scale, hiding real anomalies after it. The detector
 * handles the gap like any missing run.
 *
 * Feedback 'normal' suppresses the alert at that time and feeds the point back into the model
 * at full weight (an alerting point is otherwise learnt down-weighted), so what the operator
 * called normal becomes part of the baseline; 'anomaly' records the point as a confirmed anomaly
 * whatever its score.
 */
export function scanSeries(
  s: SeriesPoints,
  window: ScanWindow,
  options: Partial<DetectorOptions>,
  exclusions: Exclusion[],
  feedback: Map<number, Verdict> | undefined,
  onScore?: (p: ScorePoint) => void,
): SeriesScan {
  const detector = createDetector(options);
  const result: SeriesScan = { anomalies: [], points: 0, suppressed: 0, excluded: 0 };
  const { t, v } = s;
  for (let i = 0; i < t.length; i++) {
    const at = t[i]!;
    if (at < window.trainingFromMs || at >= window.toMs) continue;
    if (exclusions.length > 0 && exclusions.some((e) => at >= e.fromMs && at < e.toMs)) {
      result.excluded++;
      continue;
    }
    const verdict = feedback?.get(at);
    const p = detector.next(at, v[i]!, verdict === 'normal' ? 'normal' : undefined);
    if (at < window.fromMs) continue;
    result.points++;
    onScore?.({
      dataset: s.dataset,
      metric: s.metric,
      seriesKey: s.seriesKey,
      t: at,
      score: p.score,
      expected: p.expected,
      lower: p.lower,
      upper: p.upper,
    });
    if (verdict === 'normal') {
      if (p.alert) result.suppressed++;
      continue;
    }
    if (p.alert || verdict === 'anomaly') {
      result.anomalies.push({
        dataset: s.dataset,
        metric: s.metric,
        seriesKey: s.seriesKey,
        atMs: at,
        value: v[i]!,
        expected: p.expected,
        lower: p.lower,
        upper: p.upper,
        score: p.score,
        direction: p.direction,
        confirmed: verdict === 'anomaly',
        ...explanation(s.metric, at, v[i]!, p),
      });
    }
  }
  return result;
}

/** A series of a scoring batch: where its points are in the batch's buffer, and what applies to it. */
export interface BatchSeries extends Pick<MetricSeries, 'dataset' | 'metric' | 'seriesKey'> {
  /** Its times are points[offset, offset + length), its values the next `length` numbers. */
  offset: number;
  length: number;
  exclusions: Exclusion[];
  feedback: [number, Verdict][];
}

/**
 * A batch of series to score with one set of options: what a scoring thread is sent. The points
 * of every series share one buffer, which travels to the thread and back (transferred, not
 * copied) to be filled again: a scan's memory does not wait for the garbage collector.
 */
export interface ScoringJob {
  window: ScanWindow;
  options: Partial<DetectorOptions>;
  points: Float64Array;
  series: BatchSeries[];
}

/** A scored batch: each series' scan, in the job's order, and the window's scores of them all. */
export interface ScoredBatch {
  scans: SeriesScan[];
  /** Rows of (t, score, expected, lower, upper), series after series: `scans[i].points` rows for series i. */
  scores: Float64Array;
  /** The job's points buffer, handed back. */
  points: Float64Array;
}

export const SCORE_STRIDE = 5;

export function scoreJob(job: ScoringJob): ScoredBatch {
  const { points } = job;
  let scores = new Float64Array(SCORE_STRIDE * 1_024);
  let rows = 0;
  const scans = job.series.map((s) => {
    const t = points.subarray(s.offset, s.offset + s.length);
    const v = points.subarray(s.offset + s.length, s.offset + 2 * s.length);
    const feedback = s.feedback.length > 0 ? new Map(s.feedback) : undefined;
    return scanSeries(
      { dataset: s.dataset, metric: s.metric, seriesKey: s.seriesKey, t, v },
      job.window,
      job.options,
      s.exclusions,
      feedback,
      (p) => {
        if (rows + SCORE_STRIDE > scores.length) {
          const grown = new Float64Array(scores.length * 2);
          grown.set(scores);
          scores = grown;
        }
        scores[rows++] = p.t;
        scores[rows++] = p.score;
        scores[rows++] = p.expected;
        scores[rows++] = p.lower;
        scores[rows++] = p.upper;
      },
    );
  });
  return { scans, scores: scores.subarray(0, rows), points };
}

function explanation(metric: AnomalyMetric, atMs: number, value: number, p: PointScore): Pick<FoundAnomaly, 'members' | 'explanation'> {
  const { members, text } = explainAlert({ metric, atMs, value, ...p });
  return { members, explanation: text };
}
