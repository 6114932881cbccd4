/**
 * Streaming anomaly detector for the anomaly scan: one small stateful scorer per series.
 *
 * Per point, causally (only the points before it and itself):
 * 1. Forecast with three robust Holt-Winters-style models — damped level+trend, + time-of-day
 *    profile, + time-of-week profile (each with its own per-slot noise scale) — and use the one
 *    with the lowest recent error. Updates are winsorised and points that were anomalous are
 *    down-weighted, so past anomalies barely enter the state.
 * 2. Measure surprise on two time scales: the point, and the mean of the last few residuals
 *    (shifts, drifts, bursts), each in units of its own robust error scale.
 * 3. Calibrate each surprise against this series' own history (a decaying histogram, a Gaussian
 *    prior for the far tail), so a series whose normal life is spiky does not alert on every spike.
 * 4. Within an incident only a surprise beyond the incident's peak scores in full: one alert per
 *    incident rather than one per point.
 * Score = −log10(tail probability) mapped to [0, 1). State is O(slots) per series, work O(1) per point.
 */

export type Direction = 'spike' | 'drop' | 'both';

export interface DetectorOptions {
  /** Which deviations may alert: above the expected range, below it, or both. */
  direction: Direction;
  /**
   * 0…1; higher alerts on smaller surprises: alert when the tail probability is below
   * 10^-(2 + 14·(1 − sensitivity)) (0.5 → 10^-9), and the expected range is ±(2 + 4·(1 − sensitivity)) σ.
   */
  sensitivity: number;
  /** Deviations smaller than this (series units) never alert: business-irrelevant wobble. */
  minAbsoluteChange: number;
  /** Deviations smaller than this fraction of |expected| never alert. */
  minRelativeChange: number;
  /** No alerts (score 0) before this many points, nor before one day of data when sampling is sub-daily. */
  warmupPoints: number;
  /** Level smoothing per point: small, so one odd point barely moves the baseline. */
  levelAlpha: number;
  /** Trend smoothing relative to level smoothing; damped so trends do not run away. */
  trendBeta: number;
  trendDamping: number;
  /** Profile smoothing per visit of a slot (a slot is visited once a day/week per sampling step in it). */
  seasonGamma: number;
  /** Residuals are clipped at this many error scales before they update the model (winsorising). */
  winsorK: number;
  /** Points used by the short-window (level-shift) surprise. */
  shiftWindow: number;
  /** Points used by the drift surprise: the recent mean against a slow baseline. */
  driftWindow: number;
  /** Points the slow baseline of the drift surprise remembers (its smoothing is 1/driftMemory). */
  driftMemory: number;
  /** Points of memory of the surprise histograms (and of the error scale). */
  memory: number;
  /**
   * Points an incident is remembered for: a surprise no larger than the peak of the last
   * episodePoints scores only in part, so an incident alerts once rather than on every point.
   */
  episodePoints: number;
}

export const DEFAULT_DETECTOR_OPTIONS: DetectorOptions = {
  direction: 'both',
  sensitivity: 0.5,
  minAbsoluteChange: 0,
  minRelativeChange: 0,
  warmupPoints: 100,
  levelAlpha: 0.05,
  trendBeta: 0.05,
  trendDamping: 0.98,
  seasonGamma: 0.15,
  winsorK: 3,
  shiftWindow: 8,
  driftWindow: 24,
  driftMemory: 168,
  memory: 3000,
  episodePoints: 48,
};

export type DeviationDirection = 'up' | 'down' | 'none';

export interface PointScore {
  /** Anomaly likelihood in [0, 1]. */
  score: number;
  /** score ≥ the alert threshold implied by sensitivity (and past warm-up, in the direction asked). */
  alert: boolean;
  expected: number;
  lower: number;
  upper: number;
  direction: DeviationDirection;
  /**
   * Which surprises carried the score, as bits of FIRED: the one that set it, and any other
   * that alone would have alerted. 0 for a quiet point.
   */
  fired: number;
  /** The period (ms) of the profile the expected value came from: DAY, WEEK, or 0 for none. */
  profile: number;
}

/** The detector's members, as the bits of PointScore.fired. */
export const FIRED = { point: 1, shift: 2, drift: 4 } as const;
export type Member = keyof typeof FIRED;

/** The members a PointScore.fired names, in a fixed order. */
export function firedMembers(fired: number): Member[] {
  return (Object.keys(FIRED) as Member[]).filter((m) => (fired & FIRED[m]) !== 0);
}

export interface Detector {
  /**
   * Scores the next point. `known: 'normal'` (an operator's verdict on an earlier alert) learns
   * the point at full weight, as everyday data, and keeps it out of the incident's peak.
   */
  next(t: number, value: number, known?: 'normal'): PointScore;
}

const DAY = 86_400_000;
const WEEK = 7 * DAY;
const MAX_SLOTS_PER_DAY = 96;
/** Gaussian-equivalent sigmas per unit of mean absolute error. */
const MAE_TO_SIGMA = 1.2533;
const TOLERANCE = 1.2;
/** What is left of a surprise that does not beat its episode's peak. */
const EPISODE_DAMPING = 0.5;
/** A weekly profile's level smoothing, relative to levelAlpha. */
const WEEKLY_LEVEL_RATE = 0.2;
/** Fraction of the unwinsorised error that the scale never goes below. */
const SCALE_FLOOR = 0.2;

/** The score at and above which a point alerts, for a sensitivity in [0, 1]. */
export function alertThreshold(sensitivity: number): number {
  const s = Math.min(1, Math.max(0, sensitivity));
  return surpriseScore(10 ** -(2 + 14 * (1 - s)));
}

/** One forecasting model: damped-trend level plus an optional seasonal profile. */
class Model {
  level = NaN;
  trend = 0;
  readonly season: Float64Array;
  readonly visits: Uint32Array;
  /** Per-slot mean absolute error: noise often depends on the hour (busy hours are noisier). */
  readonly slotMae: Float64Array;
  /** The profile's period (ms): DAY or WEEK; 0 without a profile. */
  readonly period: number;
  /** EW mean absolute one-step error, winsorised. */
  mae = NaN;
  /** The same without winsorising: a floor for the scale of series that are mostly flat with bursts. */
  rawMae = 0;
  constructor(slots: number, period: number) {
    this.period = period;
    this.season = new Float64Array(slots);
    this.visits = new Uint32Array(slots);
    this.slotMae = new Float64Array(slots);
  }
  /** Error scale at a slot: the slot's own, shrunk towards the global one while it has few visits. */
  scale(slot: number): number {
    if (Number.isNaN(this.mae)) return 0;
    const floor = SCALE_FLOOR * this.rawMae;
    // Visits whose error was measured (a weekly slot's first one was not).
    const measured = this.period === WEEK ? Math.max(0, this.visits[slot]! - 1) : this.visits[slot]!;
    const v = this.season.length > 0 ? Math.min(measured, 10) : 0;
    if (v === 0) return Math.max(floor, this.mae);
    return Math.max(floor, 0.25 * this.mae, (this.slotMae[slot]! * v + this.mae * 2) / (v + 2));
  }
  forecast(slot: number): number {
    return this.level + this.trend + (this.season.length > 0 ? this.season[slot]! : 0);
  }
  private updates = 0;

  /** `trusted`: an operator called the point normal, so it is learnt whole, not winsorised. */
  update(slot: number, value: number, weight: number, o: DetectorOptions, errorRate: number, trusted = false): void {
    if (Number.isNaN(this.level)) {
      this.level = value;
      return;
    }
    const predicted = this.forecast(slot);
    const error = value - predicted;
    const absError = Math.abs(error);
    const limit = Number.isNaN(this.mae) ? Infinity : o.winsorK * MAE_TO_SIGMA * this.scale(slot);
    const clipped = trusted ? error : Math.max(-limit, Math.min(limit, error));
    // A weekly slot's first visit is learning, not forecasting (the slot has never been seen): its
    // error says nothing of the noise, and counted it would inflate the scale for weeks.
    const learning = this.period === WEEK && this.visits[slot] === 0;
    if (!learning) {
      // Early on, a running mean; later an exponential one.
      this.updates++;
      const rate = Math.max(errorRate, 1 / this.updates);
      this.mae = Number.isNaN(this.mae) ? absError : this.mae + rate * (Math.min(absError, 2 * limit) - this.mae);
      this.rawMae += rate * (absError - this.rawMae);
    }
    const e = clipped * weight;
    this.level = this.level + this.trend + o.levelAlpha * (this.period === WEEK ? WEEKLY_LEVEL_RATE : 1) * e;
    // Only the profile-free model follows a trend, and a weekly profile's level moves slowly: a
    // level or trend that reacts within the week chases the profile's own swings (weekdays to
    // weekend), and a slot learnt once a week never catches up with them.
    if (this.period === 0) this.trend = o.trendDamping * this.trend + o.levelAlpha * o.trendBeta * e;
    if (this.season.length > 0) {
      // The first visits of a slot average what they see; later visits smooth.
      const visits = ++this.visits[slot]!;
      const gamma = Math.max(o.seasonGamma, 1 / visits);
      this.season[slot] = this.season[slot]! + gamma * (1 - o.levelAlpha) * (visits <= 2 ? error : e);
      const slotError = Math.min(absError, 2 * limit);
      const seen = learning ? 0 : this.period === WEEK ? visits - 1 : visits;
      if (seen > 0)
        this.slotMae[slot] =
          seen === 1 ? slotError : this.slotMae[slot]! + Math.max(o.seasonGamma, 1 / seen) * (slotError - this.slotMae[slot]!);
    }
  }
  /** Accept a persistent shift: move the level by it at once. */
  shift(delta: number): void {
    this.level += delta;
  }
}

/** Decaying histogram of |surprise| to turn a surprise into this series' own tail probability. */
class TailCalibrator {
  private static readonly BINS = 96;
  private static readonly WIDTH = 0.25;
  private readonly counts = new Float64Array(TailCalibrator.BINS);
  /**
   * above[j] = Σ counts[j…BINS−1], kept up to date by add (above[BINS] stays 0), so a tail
   * look-up is O(1). Only sums of non-negative terms, never differences: a bin range nothing
   * landed in stays exactly 0, and the sums agree with re-summing the bins to rounding.
   */
  private readonly above = new Float64Array(TailCalibrator.BINS + 1);
  private total = 0;
  private increment = 1;
  constructor(private readonly decay: number) {}

  /**
   * Where a surprise falls, in bins: linear up to 8, logarithmic beyond (each doubling two more
   * units), so the top bin starts near 2000. A mostly-zero series has its ordinary ones and twos
   * at surprises of 50 or more; with linear bins they would share the top bin with its bursts.
   */
  private static position(z: number): number {
    const u = z <= 8 ? z : 8 + 2 * Math.log2(z / 8);
    return u / TailCalibrator.WIDTH;
  }

  private static bin(z: number): number {
    return Math.min(TailCalibrator.BINS - 1, Math.floor(TailCalibrator.position(z)));
  }

  /** P(|Z| ≥ z) under this series' history, blended with a Gaussian prior worth `prior` points. */
  tail(surprise: number, prior: number): number {
    // A surprise must beat the history by a margin to count as new: the scale it is measured in drifts.
    const z = surprise / TOLERANCE;
    const b = TailCalibrator.bin(z);
    let above = this.above[b + 1]!;
    // Count the own bin in part, linearly, so the tail is continuous in z.
    const frac = 1 - (TailCalibrator.position(z) - b);
    above += b < TailCalibrator.BINS - 1 ? this.counts[b]! * Math.max(0, frac) : this.counts[b]!;
    const gaussian = 2 * normalTail(surprise);
    return (above / this.increment + prior * gaussian) / (this.total / this.increment + prior);
  }

  add(z: number): void {
    this.increment /= 1 - this.decay;
    const increment = this.increment;
    const b = TailCalibrator.bin(z);
    this.counts[b]! += increment;
    // Surprises are mostly small, so this touches a handful of bins.
    for (let j = 0; j <= b; j++) this.above[j]! += increment;
    this.total += increment;
    if (increment > 1e200) {
      for (let i = 0; i < TailCalibrator.BINS; i++) {
        this.counts[i]! /= increment;
        this.above[i]! /= increment;
      }
      this.total /= increment;
      this.increment = 1;
    }
  }
}

/** P(Z ≥ z) for a standard normal (Abramowitz–Stegun 26.2.17 asymptotics are enough here). */
export function normalTail(z: number): number {
  if (z < 0) return 1 - normalTail(-z);
  if (z > 38) return 0;
  const t = 1 / (1 + 0.2316419 * z);
  const poly = t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  return Math.exp((-z * z) / 2) * 0.3989422804014327 * poly;
}

/** Map a tail probability to [0, 1) without saturating: 10^-8 → 0.5, 10^-24 → 0.75. */
export function surpriseScore(p: number): number {
  const bits = -Math.log10(Math.max(p, 1e-300));
  return bits <= 0 ? 0 : bits / (bits + 8);
}

export function createDetector(options: Partial<DetectorOptions> = {}): Detector {
  const o: DetectorOptions = { ...DEFAULT_DETECTOR_OPTIONS, ...options };
  const threshold = alertThreshold(o.sensitivity);
  /** The tail probability at which one member alone alerts (three members share the alert's tail). */
  const memberTail = 10 ** -(2 + 14 * (1 - Math.min(1, Math.max(0, o.sensitivity)))) / 3;
  const bandZ = 2 + 4 * (1 - Math.min(1, Math.max(0, o.sensitivity)));
  const errorRate = 1 / Math.min(o.memory, 500);
  const pointTail = new TailCalibrator(1 / o.memory);
  const shiftTail = new TailCalibrator(1 / o.memory);
  const driftTail = new TailCalibrator(1 / o.memory);
  // The drift surprise: how far the recent deseasonalised mean has moved from a slow baseline.
  // The forecasting models follow a slow drift (that is their job), so their residuals stay
  // small while the level creeps; the baseline moves in days, not hours, and sees it.
  const driftBuffer = new Float64Array(Math.max(1, o.driftWindow));
  let driftSum = 0;
  let baseline = NaN;
  let driftMae = NaN;
  let driftRawMae = 0;

  let n = 0;
  let lastT = NaN;
  const deltas: number[] = [];
  let step = NaN;
  let models: Model[] = [];
  let slotsPerDay = 0;
  const recent = new Float64Array(o.shiftWindow);
  let warmup = o.warmupPoints;
  let shiftMae = NaN;
  const recentScores = new Float64Array(Math.max(1, o.episodePoints));
  /** max(0, recentScores…): the peak of the current episode, maintained as points come and go. */
  let episodePeak = 0;
  const scanPeak = (): number => {
    let peak = 0;
    for (let i = 0; i < recentScores.length; i++) peak = Math.max(peak, recentScores[i]!);
    return peak;
  };
  let shiftRawMae = 0;

  const configure = (): void => {
    const sorted = [...deltas].sort((a, b) => a - b);
    step = sorted[sorted.length >> 1]!;
    slotsPerDay = step < DAY ? Math.min(MAX_SLOTS_PER_DAY, Math.max(1, Math.round(DAY / step))) : 0;
    models = [new Model(0, 0)];
    if (slotsPerDay >= 2) models.push(new Model(slotsPerDay, DAY));
    if (slotsPerDay >= 1 || step <= DAY) models.push(new Model(7 * Math.max(1, slotsPerDay), WEEK));
    if (slotsPerDay >= 2) warmup = Math.max(warmup, Math.ceil(DAY / step));
  };

  const pending: [number, number, 'normal' | undefined][] = [];

  const slotOf = (t: number, m: Model): number => {
    const slots = m.season.length;
    if (slots === 0) return 0;
    const period = m.period;
    // Epoch day 0 was a Thursday; any fixed origin works for a profile.
    // t mod period, exactly: whole-ms timestamps (|t| ≤ 2^52) by integer arithmetic — q·period and
    // t − q·period are exact, and a quotient rounded across a period boundary is corrected —
    // otherwise by the floating-point remainder (exact too, but a slow library call).
    let within: number;
    if (Number.isInteger(t) && Math.abs(t) <= 4_503_599_627_370_496) {
      within = t - Math.floor(t / period) * period;
      if (within < 0) within += period;
      else if (within >= period) within -= period;
    } else within = ((t % period) + period) % period;
    const phase = within / period;
    return Math.min(slots - 1, Math.floor(phase * slots));
  };
  /** Each model's slot for the point being scored (a Float64Array, so a NaN slot stays NaN). */
  const slots = new Float64Array(3);

  /** Index of the model with the lowest recent error among those that have learnt their profile. */
  const bestModel = (): number => {
    let best = 0;
    let bestMae = models[0]!.mae;
    for (let i = 0; i < models.length; i++) {
      const m = models[i]!;
      const learned = m.season.length === 0 || n * step >= 2 * m.period;
      if (learned && !Number.isNaN(m.mae) && m.mae < bestMae) {
        best = i;
        bestMae = m.mae;
      }
    }
    return best;
  };

  const quiet = (value: number): PointScore => ({
    score: 0,
    alert: false,
    expected: value,
    lower: value,
    upper: value,
    direction: 'none',
    fired: 0,
    profile: 0,
  });

  const score = (t: number, value: number, known: 'normal' | undefined): PointScore => {
    for (let i = 0; i < models.length; i++) slots[i] = slotOf(t, models[i]!);
    const best = bestModel();
    const model = models[best]!;
    const slot = slots[best]!;
    const expected = model.forecast(slot);
    const sigma = Math.max(MAE_TO_SIGMA * model.scale(slot), 1e-9 * Math.max(1, Math.abs(expected)));
    if (Number.isNaN(expected)) {
      for (let i = 0; i < models.length; i++) models[i]!.update(slots[i]!, value, 1, o, errorRate);
      return quiet(value);
    }
    const residual = value - expected;
    recent[n % o.shiftWindow] = residual;
    let meanRecent = 0;
    const k = Math.min(n + 1, o.shiftWindow);
    for (let i = 0; i < k; i++) meanRecent += recent[i]!;
    meanRecent /= k;

    const zPoint = residual / sigma;
    const shiftSigma = Math.max(MAE_TO_SIGMA * Math.max(shiftMae, SCALE_FLOOR * shiftRawMae), 1e-9 * Math.max(1, Math.abs(expected)));
    const zShift = Number.isNaN(shiftMae) ? 0 : meanRecent / shiftSigma;
    // The short-window mean has its own typical size (residuals are autocorrelated): learn it, winsorised.
    const absMean = Math.abs(meanRecent);
    const shiftRate = Math.max(errorRate, 1 / (n + 1));
    shiftMae = Number.isNaN(shiftMae)
      ? absMean
      : shiftMae + shiftRate * (Math.min(absMean, o.winsorK * MAE_TO_SIGMA * shiftMae) - shiftMae);
    shiftRawMae += shiftRate * (absMean - shiftRawMae);
    const deseasonalised = value - (expected - model.level - model.trend);
    if (Number.isNaN(baseline)) baseline = deseasonalised;
    const fromBaseline = deseasonalised - baseline;
    const d = n % driftBuffer.length;
    driftSum += fromBaseline - driftBuffer[d]!;
    driftBuffer[d] = fromBaseline;
    const meanDrift = driftSum / Math.min(n + 1, driftBuffer.length);
    const driftSigma = Math.max(MAE_TO_SIGMA * Math.max(driftMae, SCALE_FLOOR * driftRawMae), 1e-9 * Math.max(1, Math.abs(expected)));
    const zDrift = Number.isNaN(driftMae) ? 0 : meanDrift / driftSigma;
    const absDrift = Math.abs(meanDrift);
    driftMae = Number.isNaN(driftMae)
      ? absDrift
      : driftMae + shiftRate * (Math.min(absDrift, o.winsorK * MAE_TO_SIGMA * driftMae) - driftMae);
    driftRawMae += shiftRate * (absDrift - driftRawMae);

    const pPoint = pointTail.tail(Math.abs(zPoint), 20);
    const pShift = shiftTail.tail(Math.abs(zShift), 20);
    const pDrift = driftTail.tail(Math.abs(zDrift), 20);
    // Surprises from before the scale has settled would teach the calibration that anything goes.
    if (n >= warmup / 2) {
      pointTail.add(Math.abs(zPoint));
      shiftTail.add(Math.abs(zShift));
      driftTail.add(Math.abs(zDrift));
    }

    const pMin = Math.min(pPoint, pShift, pDrift);
    const p = Math.min(1, 3 * pMin);
    const deviation = pMin === pPoint ? residual : pMin === pShift ? meanRecent : meanDrift;
    const dir: DeviationDirection = deviation > 0 ? 'up' : deviation < 0 ? 'down' : 'none';
    const wrongWay = (o.direction === 'spike' && dir !== 'up') || (o.direction === 'drop' && dir !== 'down');
    const small = Math.abs(deviation) < o.minAbsoluteChange || Math.abs(deviation) < o.minRelativeChange * Math.abs(expected);
    const raw = n < warmup || wrongWay || small ? 0 : surpriseScore(p);
    // Alert once per incident: within an episode only a surprise beyond the episode's peak scores in full.
    const s = raw > episodePeak ? raw : raw * EPISODE_DAMPING;
    const at = n % recentScores.length;
    const leaving = recentScores[at]!;
    recentScores[at] = known === 'normal' ? 0 : raw;
    // Keep the peak as a scan of the buffer would find it; scan only when the peak itself leaves
    // (or a NaN does), which for scores in no particular order is about once per episodePoints.
    if ((leaving === episodePeak && !(recentScores[at]! >= episodePeak)) || Number.isNaN(leaving)) episodePeak = scanPeak();
    else episodePeak = Math.max(episodePeak, recentScores[at]!);

    // Learn: anomalous points are down-weighted so they barely enter the state.
    const weight = known === 'normal' || 1 - p < 0.99 ? 1 : 0.25;
    const trusted = known === 'normal';
    for (let i = 0; i < models.length; i++) models[i]!.update(slots[i]!, value, weight, o, errorRate, trusted);
    const driftLimit = Number.isNaN(driftMae) ? Infinity : o.winsorK * MAE_TO_SIGMA * Math.max(driftMae, SCALE_FLOOR * driftRawMae);
    baseline += (weight / o.driftMemory) * Math.max(-driftLimit, Math.min(driftLimit, fromBaseline));
    const alert = s >= threshold;
    let fired = 0;
    if (alert) {
      // The member that set the score, and any other that alone would have crossed the line.
      fired = pMin === pPoint ? FIRED.point : pMin === pShift ? FIRED.shift : FIRED.drift;
      if (pPoint <= memberTail) fired |= FIRED.point;
      if (pShift <= memberTail) fired |= FIRED.shift;
      if (pDrift <= memberTail) fired |= FIRED.drift;
    }
    return {
      score: s,
      alert,
      expected,
      lower: expected - bandZ * sigma,
      upper: expected + bandZ * sigma,
      direction: dir,
      fired,
      profile: model.period,
    };
  };

  return {
    next(t: number, value: number, known?: 'normal'): PointScore {
      if (!Number.isFinite(value)) return quiet(value);
      if (!Number.isNaN(lastT) && t > lastT && deltas.length < 16) deltas.push(t - lastT);
      lastT = t;
      if (models.length === 0) {
        // Buffer the first few points until the sampling step is known.
        pending.push([t, value, known]);
        if (deltas.length < 16) return quiet(value);
        configure();
        let last = quiet(value);
        for (const [pt, pv, pk] of pending.splice(0)) {
          last = score(pt, pv, pk);
          n++;
        }
        return last;
      }
      const result = score(t, value, known);
      n++;
      return result;
    },
  };
}

export interface SeriesScores {
  scores: Float64Array;
  expected: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
  /** +1 up, −1 down, 0 none. */
  direction: Int8Array;
}

/** Score a whole series in order with a fresh detector. */
export function scoreSeries(
  timestamps: ArrayLike<number>,
  values: ArrayLike<number>,
  options: Partial<DetectorOptions> = {},
): SeriesScores {
  const length = values.length;
  const out: SeriesScores = {
    scores: new Float64Array(length),
    expected: new Float64Array(length),
    lower: new Float64Array(length),
    upper: new Float64Array(length),
    direction: new Int8Array(length),
  };
  const detector = createDetector(options);
  for (let i = 0; i < length; i++) {
    const p = detector.next(timestamps[i]!, values[i]!);
    out.scores[i] = p.score;
    out.expected[i] = p.expected;
    out.lower[i] = p.lower;
    out.upper[i] = p.upper;
    out.direction[i] = p.direction === 'up' ? 1 : p.direction === 'down' ? -1 : 0;
  }
  return out;
}
