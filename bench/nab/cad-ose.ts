/**
 * Contextual Anomaly Detector, open-source edition (CAD OSE, M. Smirnov 2016), written from the
 * description of NAB's nab/detectors/context_ose: published 57.5 standard on the four shared
 * categories.
 *
 * Each value is quantised to a few bits; each bit (position, value) is a "fact". A context pairs a
 * left set of facts (the previous step's facts plus the contexts that were active then, as
 * "neuron" facts) with a right set (the next step's facts). Every step the detector
 * - records the context (previous left facts → current facts) if it is new,
 * - scores how many of the contexts whose left side matched also matched on the right, and how
 *   many genuinely new contexts the step produced (intersections of partly matched ones),
 * - activates the most often confirmed fully matched contexts as the next left side's neurons and
 *   predicts the right facts of the best-confirmed contexts.
 * Score = (1 − share of selected contexts confirmed + share of candidate contexts that were new) / 2,
 * 0 if the current facts were all predicted; after a score ≥ baseThreshold the detector rests
 * (scores 0) for restPeriod rows. Memory is the set of distinct contexts seen: it grows with the
 * variety of the series, not with its length once the patterns repeat.
 */

export interface CadOseOptions {
  /** Bits per value (NAB: 3, i.e. 8 levels). */
  readonly valueBits: number;
  /** A score at or above this starts a rest period (NAB: 0.75). */
  readonly baseThreshold: number;
  /** Rows of rest after a high score (NAB: a fifth of the probationary period). */
  readonly restPeriod: number;
  /** Largest left side a new (intersection) context may have (NAB: 7). */
  readonly maxLeftSemiContextLength: number;
  /** Most active contexts fed forward as neuron facts (NAB: 15). */
  readonly maxActiveNeurons: number;
  /** The value range quantised; values outside it land in the edge levels. */
  readonly min: number;
  readonly max: number;
}

interface SemiContext {
  readonly order: number;
  readonly facts: readonly number[];
  /** This crossing's facts of `facts` present in the input, in input order. */
  matched: number[];
  /** Left side only: right semi-context order → context. */
  readonly contexts: Map<number, Context>;
}

interface Context {
  readonly id: number;
  /** Sum of the right side's size over the steps its left side was fully matched. */
  selected: number;
  /** Sum of the right side's matched facts over those steps. */
  confirmedFacts: number;
  /** Steps both sides matched fully. */
  activations: number;
  readonly rightFacts: readonly number[];
  /** Recorded directly from the stream (not as an intersection): only these spawn new contexts. */
  zeroLevel: boolean;
}

interface TrieNode {
  readonly children: Map<number, TrieNode>;
  semi: SemiContext | undefined;
}

/** One side's memory: semi-contexts by their fact set (a trie over the sorted facts), and by each fact they contain. */
class Side {
  readonly all: SemiContext[] = [];
  private readonly root: TrieNode = { children: new Map(), semi: undefined };
  readonly byFact = new Map<number, SemiContext[]>();
  crossed: SemiContext[] = [];

  intern(facts: readonly number[]): SemiContext {
    let node = this.root;
    for (const fact of facts) {
      let child = node.children.get(fact);
      if (!child) {
        child = { children: new Map(), semi: undefined };
        node.children.set(fact, child);
      }
      node = child;
    }
    if (!node.semi) {
      const semi: SemiContext = { order: this.all.length, facts, matched: [], contexts: new Map() };
      node.semi = semi;
      this.all.push(semi);
      for (const fact of facts) {
        const list = this.byFact.get(fact);
        if (list) list.push(semi);
        else this.byFact.set(fact, [semi]);
      }
    }
    return node.semi;
  }

  /** Marks each semi-context's facts present in `facts`; `crossed` = those with any, in creation order. */
  cross(facts: readonly number[]): void {
    for (const semi of this.crossed) semi.matched = [];
    const touched: SemiContext[] = [];
    for (const fact of facts) {
      for (const semi of this.byFact.get(fact) ?? []) {
        if (semi.matched.length === 0) touched.push(semi);
        semi.matched.push(fact);
      }
    }
    this.crossed = touched.sort((a, b) => a.order - b.order);
  }
}

interface Recorded {
  readonly context: Context;
  readonly isNew: boolean;
  readonly left: SemiContext;
  readonly right: SemiContext;
}

function pairKey(left: SemiContext, right: SemiContext): number {
  return left.order * 2 ** 26 + right.order;
}

const SENSOR_BASE = 65536;
const NEURON_BASE = 2 ** 31;

export class CadOseDetector {
  private readonly left = new Side();
  private readonly right = new Side();
  private readonly contexts: Context[] = [];
  private readonly levels: number;
  private readonly step: number;
  private leftFacts: number[] = [];
  private predicted = new Set<number>();
  /** Rows since the last score ≥ baseThreshold (the history starts with one, as NAB's does). */
  private sinceHigh = 0;
  private justRecorded: Context | undefined;

  constructor(private readonly options: CadOseOptions) {
    this.levels = 2 ** options.valueBits - 1;
    const range = options.max - options.min;
    this.step = (range === 0 ? this.levels : range) / this.levels;
  }

  /** The facts of one value: bit s of its level is fact SENSOR_BASE + 2s + bit. */
  facts(value: number): number[] {
    const level = Math.min(this.levels, Math.max(0, Math.trunc((value - this.options.min) / this.step)));
    const out: number[] = [];
    for (let s = 0; s < this.options.valueBits; s++) out.push(SENSOR_BASE + 2 * s + ((level >> s) & 1));
    return out;
  }

  next(value: number): number {
    const facts = this.facts(value);
    let unpredicted = false;
    for (const fact of facts) if (!this.predicted.has(fact)) unpredicted = true;
    const { confirmedShare, newShare } = this.learn(facts);
    const score = unpredicted ? (1 - confirmedShare + newShare) / 2 : 0;
    // NAB's rest: the raw score is returned only if no raw score of the last restPeriod rows reached the base threshold.
    const rest = this.options.restPeriod >= 1 ? Math.trunc(this.options.restPeriod) : Infinity;
    const returned = this.sinceHigh >= rest ? score : 0;
    this.sinceHigh = score >= this.options.baseThreshold ? 0 : this.sinceHigh + 1;
    return returned;
  }

  private record(leftFacts: readonly number[], rightFacts: readonly number[], zeroLevel: boolean): Recorded {
    return this.recordSemis(this.left.intern(leftFacts), this.right.intern(rightFacts), zeroLevel);
  }

  private recordSemis(left: SemiContext, right: SemiContext, zeroLevel: boolean): Recorded {
    const existing = left.contexts.get(right.order);
    if (existing) {
      if (zeroLevel) existing.zeroLevel = true;
      return { context: existing, isNew: false, left, right };
    }
    const context: Context = {
      id: this.contexts.length,
      selected: 0,
      confirmedFacts: 0,
      activations: 0,
      rightFacts: right.facts,
      zeroLevel,
    };
    this.contexts.push(context);
    left.contexts.set(right.order, context);
    return { context, isNew: true, left, right };
  }

  private learn(facts: number[]): { confirmedShare: number; newShare: number } {
    const candidates = new Set<number>();
    let recordedNew = false;
    this.justRecorded = undefined;
    if (this.leftFacts.length > 0) {
      const recorded = this.record(this.leftFacts, facts, true);
      candidates.add(pairKey(recorded.left, recorded.right));
      recordedNew = recorded.isNew;
      if (recordedNew) this.justRecorded = recorded.context;
    }

    // Confirm or refute the contexts the previous left side selected.
    this.right.cross(facts);
    const active: Context[] = [];
    const spawn: [number[], number[]][] = [];
    let selected = 0;
    for (const leftSemi of this.left.crossed) {
      const leftFull = leftSemi.matched.length === leftSemi.facts.length;
      for (const [rightOrder, context] of leftSemi.contexts) {
        if (context === this.justRecorded) continue;
        const rightSemi = this.right.all[rightOrder]!;
        const rightMatched = rightSemi.matched.length;
        const mayspawn =
          context.zeroLevel && recordedNew && rightMatched > 0 && leftSemi.matched.length <= this.options.maxLeftSemiContextLength;
        if (leftFull) {
          selected++;
          context.selected += rightSemi.facts.length;
          if (rightMatched > 0) {
            context.confirmedFacts += rightMatched;
            if (rightMatched === rightSemi.facts.length) {
              context.activations++;
              active.push(context);
            } else if (mayspawn) spawn.push([leftSemi.matched, rightSemi.matched]);
          }
        } else if (mayspawn) spawn.push([leftSemi.matched, rightSemi.matched]);
      }
    }
    // Interning the candidates' sides here rather than when they are recorded creates them in the same order.
    const spawnSides = spawn.map(([l, r]) => [this.left.intern(l), this.right.intern(r)] as const);
    for (const [l, r] of spawnSides) candidates.add(pairKey(l, r));

    // The most confirmed active contexts become the next left side's neuron facts.
    active.sort((a, b) => a.activations - b.activations || a.id - b.id);
    const neurons = active.slice(-this.options.maxActiveNeurons).map((c) => NEURON_BASE + c.id);
    this.leftFacts = [...new Set([...facts, ...neurons])].sort((a, b) => a - b);

    let added = recordedNew ? 1 : 0;
    for (const [l, r] of spawnSides) if (this.recordSemis(l, r, false).isNew) added++;
    this.predicted = this.predict();

    return {
      confirmedShare: selected > 0 ? active.length / selected : 0,
      newShare: recordedNew && candidates.size > 0 ? added / candidates.size : 0,
    };
  }

  /** The right facts of the best-confirmed contexts whose left side the new left facts contain. */
  private predict(): Set<number> {
    this.left.cross(this.leftFacts);
    let bestWeight = 0;
    let best: Context[] = [];
    for (const leftSemi of this.left.crossed) {
      if (leftSemi.matched.length !== leftSemi.facts.length) continue;
      for (const context of leftSemi.contexts.values()) {
        const weight = context.selected > 0 ? context.confirmedFacts / context.selected : 0;
        if (weight > bestWeight) {
          bestWeight = weight;
          best = [context];
        } else if (weight === bestWeight) best.push(context);
      }
    }
    const predicted = new Set<number>();
    for (const context of best) for (const fact of context.rightFacts) predicted.add(fact);
    return predicted;
  }
}

/** NAB's setup: the range is the file's min and max (known to every NAB detector up front). */
export function cadOseScores(
  values: ArrayLike<number>,
  options: Omit<CadOseOptions, 'min' | 'max'> & { min?: number; max?: number },
): Float64Array {
  let min = options.min ?? Infinity;
  let max = options.max ?? -Infinity;
  if (options.min === undefined || options.max === undefined) {
    for (let i = 0; i < values.length; i++) {
      if (options.min === undefined) min = Math.min(min, values[i]!);
      if (options.max === undefined) max = Math.max(max, values[i]!);
    }
  }
  const detector = new CadOseDetector({ ...options, min, max });
  const scores = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) scores[i] = detector.next(values[i]!);
  return scores;
}

/**
 * Causal CAD OSE: the range is fixed from the first `warmup` rows (widened by `margin` of itself on
 * each side); the model learns those rows once the range is known, and they score 0.
 */
export function causalCadOseScores(
  values: ArrayLike<number>,
  options: Omit<CadOseOptions, 'min' | 'max'> & { warmup: number; margin: number },
): Float64Array {
  const scores = new Float64Array(values.length);
  const warmup = Math.max(1, Math.min(values.length, Math.floor(options.warmup)));
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < warmup; i++) {
    min = Math.min(min, values[i]!);
    max = Math.max(max, values[i]!);
  }
  const widen = (max - min) * options.margin;
  const detector = new CadOseDetector({ ...options, min: min - widen, max: max + widen });
  for (let i = 0; i < values.length; i++) {
    const score = detector.next(values[i]!);
    if (i >= warmup - 1) scores[i] = score;
  }
  return scores;
}
