/**
 * KNN CAD (Burnaev & Ishimtsev 2016, "Conformalized density- and distance-based anomaly detection
 * in time-series data", arXiv:1608.04585), written from the description of NAB's
 * nab/detectors/knncad: published 53.5 standard on the four shared categories.
 *
 * Each row is represented by the window of its last `dim` values. NAB's probationary rows fill a
 * training set of windows; a window's non-conformity is the sum of its squared Mahalanobis
 * distances to its k nearest training windows, the metric being the inverse of the training
 * windows' Gram matrix XᵀX (uncentred), refitted every half probationary period. The score of a
 * row is the share of the last |training| non-conformities (a calibration set, seeded with the
 * training windows' leave-one-out values) that are strictly below its own: a conformal rank, in
 * [0, 1). The calibration windows enter the training set one probationary period later, so the
 * model follows a slow change. After a score ≥ alarmLevel the detector reports restScore for a
 * fifth of the probationary period (one alert per incident).
 *
 * No randomness: k nearest by a full scan. Cost per row O(|training| · dim) (the metric is applied
 * once per window as a triangular solve, not once per pair); memory O(probation · dim).
 */

export interface KnnCadOptions {
  /** Neighbours summed (NAB: 27). */
  readonly k: number;
  /** Values per window (NAB: 19). */
  readonly dim: number;
  /** NAB's probationary period of the file (rows), which NAB tells every detector up front. */
  readonly probation: number;
  /** A score at or above this starts a rest (NAB: 0.9965). */
  readonly alarmLevel: number;
  /** Reported during a rest (NAB: 0.5). */
  readonly restScore: number;
}

export const KNN_CAD_NAB = { k: 27, dim: 19, alarmLevel: 0.9965, restScore: 0.5 } as const;

/**
 * The metric d ↦ dᵀ(XᵀX)⁻¹d as a map y = L⁻¹d with XᵀX = LLᵀ, so that the distance is |y|².
 * `null` while the Gram matrix is singular (NAB then keeps the metric it had: the identity first).
 */
class Metric {
  private lower: Float64Array | null = null;
  /** The explicit inverse, when the Gram matrix is invertible but not numerically positive definite. */
  private inverse: Float64Array | null = null;

  constructor(private readonly dim: number) {}

  get isQuadratic(): boolean {
    return this.inverse !== null;
  }

  /** Refits on the training windows; a singular Gram matrix leaves the metric as it was. */
  refit(windows: readonly Float64Array[]): void {
    const n = this.dim;
    const gram = new Float64Array(n * n);
    for (const w of windows) {
      for (let r = 0; r < n; r++) {
        const wr = w[r]!;
        for (let c = r; c < n; c++) gram[r * n + c]! += wr * w[c]!;
      }
    }
    for (let r = 0; r < n; r++) for (let c = 0; c < r; c++) gram[r * n + c] = gram[c * n + r]!;
    const inverse = invert(gram, n);
    if (!inverse) return;
    const lower = cholesky(gram, n);
    this.lower = lower;
    this.inverse = lower ? null : inverse;
  }

  /** The window as the distance sees it (itself under the identity or the quadratic fallback). */
  apply(window: Float64Array): Float64Array {
    const l = this.lower;
    if (!l || this.inverse) return window;
    const n = this.dim;
    const y = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      let s = window[r]!;
      for (let c = 0; c < r; c++) s -= l[r * n + c]! * y[c]!;
      y[r] = s / l[r * n + r]!;
    }
    return y;
  }

  /** Squared distance of two applied windows. */
  distance(a: Float64Array, b: Float64Array): number {
    const n = this.dim;
    const inv = this.inverse;
    if (!inv) {
      let s = 0;
      for (let i = 0; i < n; i++) {
        const d = a[i]! - b[i]!;
        s += d * d;
      }
      return s;
    }
    let s = 0;
    for (let r = 0; r < n; r++) {
      const dr = a[r]! - b[r]!;
      let row = 0;
      for (let c = 0; c < n; c++) row += inv[r * n + c]! * (a[c]! - b[c]!);
      s += dr * row;
    }
    return s;
  }
}

/** Gauss-Jordan with partial pivoting; null on an exactly zero pivot (as LAPACK's LU reports singular). */
function invert(matrix: Float64Array, n: number): Float64Array | null {
  const a = Float64Array.from(matrix);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col]!) > Math.abs(a[pivot * n + col]!)) pivot = r;
    if (a[pivot * n + col] === 0) return null;
    if (pivot !== col) {
      for (let c = 0; c < n; c++) {
        [a[col * n + c], a[pivot * n + c]] = [a[pivot * n + c]!, a[col * n + c]!];
        [inv[col * n + c], inv[pivot * n + c]] = [inv[pivot * n + c]!, inv[col * n + c]!];
      }
    }
    const p = a[col * n + col]!;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = a[r * n + col]! / p;
      if (f === 0) continue;
      for (let c = 0; c < n; c++) {
        a[r * n + c]! -= f * a[col * n + c]!;
        inv[r * n + c]! -= f * inv[col * n + c]!;
      }
    }
  }
  for (let r = 0; r < n; r++) {
    const p = a[r * n + r]!;
    for (let c = 0; c < n; c++) inv[r * n + c]! /= p;
  }
  return inv;
}

/** Lower-triangular L with LLᵀ = matrix, or null when a pivot is not positive. */
function cholesky(matrix: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c <= r; c++) {
      let s = matrix[r * n + c]!;
      for (let k = 0; k < c; k++) s -= l[r * n + k]! * l[c * n + k]!;
      if (r === c) {
        if (!(s > 0)) return null;
        l[r * n + r] = Math.sqrt(s);
      } else l[r * n + c] = s / l[c * n + c]!;
    }
  }
  return l;
}

export class KnnCadDetector {
  private readonly metric: Metric;
  private readonly window: Float64Array;
  private rows = 0;
  /** Raw windows the distances are taken to, oldest first, and the same as the metric sees them. */
  private readonly training: Float64Array[] = [];
  private applied: Float64Array[] = [];
  /** Windows scored since the probationary period, waiting to enter the training set. */
  private readonly calibration: Float64Array[] = [];
  /** The last |training| non-conformities, oldest first; empty until the first scored row. */
  private readonly calibrationScores: number[] = [];
  private restLeft = 0;
  /** Scratch for the k smallest distances. */
  private readonly nearest: Float64Array;

  constructor(private readonly options: KnnCadOptions) {
    this.metric = new Metric(options.dim);
    this.window = new Float64Array(options.dim);
    this.nearest = new Float64Array(options.k + 1);
  }

  /** Size of the calibration set: the conformal rank's resolution. */
  get calibrationSize(): number {
    return this.calibrationScores.length;
  }

  next(value: number): number {
    const { dim, probation } = this.options;
    this.window.copyWithin(0, 1);
    this.window[dim - 1] = value;
    this.rows++;
    if (this.rows < dim) return 0;
    const item = Float64Array.from(this.window);
    if (this.rows < probation) {
      this.training.push(item);
      return 0;
    }
    if (this.training.length === 0) return 0;

    const phase = this.rows % probation;
    if (phase === 0 || phase === Math.trunc(probation / 2)) {
      this.metric.refit(this.training);
      this.applied = this.training.map((w) => this.metric.apply(w));
    }
    if (this.calibrationScores.length === 0) {
      for (const w of this.applied) this.calibrationScores.push(this.nonConformity(w, true));
    }
    const score = this.nonConformity(this.metric.apply(item), false);
    let below = 0;
    for (const s of this.calibrationScores) if (s < score) below++;
    const rank = below / this.calibrationScores.length;

    if (this.rows >= 2 * probation) {
      this.training.shift();
      this.applied.shift();
      const entering = this.calibration.shift()!;
      this.training.push(entering);
      this.applied.push(this.metric.apply(entering));
    }
    this.calibrationScores.shift();
    this.calibration.push(item);
    this.calibrationScores.push(score);

    if (this.restLeft > 0) {
      this.restLeft--;
      return this.options.restScore;
    }
    if (rank >= this.options.alarmLevel) this.restLeft = Math.trunc(probation / 5);
    return rank;
  }

  /** Sum of the k smallest squared distances to the training windows (k + 1 when `item` is one of them). */
  private nonConformity(applied: Float64Array, itemInTraining: boolean): number {
    const k = Math.min(this.options.k + (itemInTraining ? 1 : 0), this.applied.length);
    const nearest = this.nearest;
    let count = 0;
    for (const other of this.applied) {
      const d = this.metric.distance(applied, other);
      if (count === k && !(d < nearest[k - 1]!)) continue;
      let at = count < k ? count++ : k - 1;
      while (at > 0 && nearest[at - 1]! > d) {
        nearest[at] = nearest[at - 1]!;
        at--;
      }
      nearest[at] = d;
    }
    let sum = 0;
    for (let i = 0; i < count; i++) sum += nearest[i]!;
    return sum;
  }
}

export function knnCadScores(values: ArrayLike<number>, options: KnnCadOptions): Float64Array {
  const detector = new KnnCadDetector(options);
  const scores = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) scores[i] = detector.next(values[i]!);
  return scores;
}
