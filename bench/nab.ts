import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCorpus, type NabSeries } from './nab/corpus.js';
import { categoryFolds, crossValidate, mean, pooledScore, seriesFolds, type FoldResult } from './nab/cross-validation.js';
import { DETECTORS, describeParams, findDetector, type DetectorParams, type NabDetector } from './nab/detectors.js';
import { writeNabResults } from './nab/results.js';
import { PROFILES, normaliseSubset, scoreCorpus, type ProfileName, type ScoredSeries } from './nab/scorer.js';

const USAGE = `npm run bench:nab -- [--data DIR] [--windows FILE] [--results-dir DIR] [--detector NAME]
npm run bench:nab -- --cv [--detector NAME,NAME|all] [--groups K]
  (or positionally: bench/nab.ts [DIR] [FILE] ...)

Scores a detector on NAB-shaped data the NAB way (one threshold for the whole corpus, null
detector = 0, perfect = 100) and reports its core scoring speed. --results-dir writes NAB's
results layout so numenta/NAB's own scorer can check the figure.
  --data DIR         NAB data folder (category/*.csv); default ../shared/data/nab/data
  --windows FILE     combined_windows.json; default ../shared/data/nab/combined_windows.json
  --results-dir DIR  also write <DIR>/<detector>/<category>/<detector>_<file>.csv
  --detector NAME    ${DETECTORS.map((d) => d.name).join(' | ')} (default spokeflow)
  --cv               cross-validate instead: leave one labelled category out, then leave one
                     real series out; each fold picks one parameter set from the detector's grid
                     and one threshold without the held-out series (standard profile)
  --groups K         with --cv: deal the real series into K folds instead of one per series`;

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

interface Args {
  dataDir: string;
  windowsFile: string;
  resultsDir: string | undefined;
  detectors: NabDetector[];
  cv: boolean;
  groups: number | undefined;
}

function parseCli(argv: string[]): Args {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      data: { type: 'string' },
      windows: { type: 'string' },
      'results-dir': { type: 'string' },
      detector: { type: 'string', default: 'spokeflow' },
      cv: { type: 'boolean', default: false },
      groups: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const resultsDir = values['results-dir'];
  return {
    dataDir: resolve(repoRoot, values.data ?? positionals[0] ?? '../shared/data/nab/data'),
    windowsFile: resolve(repoRoot, values.windows ?? positionals[1] ?? '../shared/data/nab/combined_windows.json'),
    resultsDir: resultsDir && resolve(process.cwd(), resultsDir),
    detectors: values.detector === 'all' ? [...DETECTORS] : values.detector.split(',').map(findDetector),
    cv: values.cv,
    groups: values.groups === undefined ? undefined : Number(values.groups),
  };
}

/** Scores every series with one parameter set; the time is the core scoring only (data already parsed). */
function scoreAll(detector: NabDetector, corpus: readonly NabSeries[], params: DetectorParams): { scores: Float64Array[]; ms: number } {
  const started = performance.now();
  const scores = corpus.map((s) => detector.score(s, params));
  return { scores, ms: performance.now() - started };
}

function toScored(corpus: readonly NabSeries[], scores: readonly Float64Array[]): ScoredSeries[] {
  return corpus.map((s, i) => ({ name: s.key, scores: scores[i]!, windows: s.windows }));
}

function printFullCorpus(corpus: readonly NabSeries[], scored: readonly ScoredSeries[]): void {
  const categories = [...new Set(corpus.map((s) => s.category))];
  for (const profile of Object.keys(PROFILES) as ProfileName[]) {
    const cost = PROFILES[profile];
    const result = scoreCorpus(scored, cost);
    console.log(
      `\n${profile}: ${result.normalised.toFixed(1)}  (threshold ${result.threshold}, raw ${result.raw.toFixed(3)}, null ${result.nullRaw}, perfect ${result.perfectRaw})`,
    );
    if (profile !== 'standard') continue;
    for (const category of categories) {
      const series = result.series.filter((s) => s.name.startsWith(`${category}/`));
      const { raw, normalised } = normaliseSubset(series, cost);
      const windows = series.reduce((sum, s) => sum + s.windows, 0);
      const detected = series.reduce((sum, s) => sum + s.detectedWindows, 0);
      const falsePositives = series.reduce((sum, s) => sum + s.falsePositives, 0);
      const figure = Number.isNaN(normalised) ? 'n/a (no windows)' : normalised.toFixed(1);
      console.log(
        `  ${category.padEnd(24)} ${figure.padStart(16)}   raw ${raw.toFixed(3).padStart(8)}   windows ${detected}/${windows}   false-positive rows ${falsePositives}`,
      );
    }
  }
}

function pointsPerSecond(points: number, ms: number): string {
  return ((points / ms) * 1000).toLocaleString('en-US', { maximumFractionDigits: 0 });
}

async function run(): Promise<void> {
  const args = parseCli(process.argv.slice(2));
  const corpus = await loadCorpus(args.dataDir, args.windowsFile);
  const points = corpus.reduce((sum, s) => sum + s.values.length, 0);
  console.log(`${corpus.length} NAB series (${points.toLocaleString('en-US')} points) from ${args.dataDir}`);
  for (const detector of args.detectors) {
    if (args.cv && !detector.causal) console.log(`\n${detector.name}: not causal, left out of --cv (${detector.summary})`);
    else if (args.cv) crossValidateDetector(detector, corpus, points, args.groups);
    else await benchDetector(detector, corpus, points, args.resultsDir);
  }
}

async function benchDetector(
  detector: NabDetector,
  corpus: readonly NabSeries[],
  points: number,
  resultsDir: string | undefined,
): Promise<void> {
  console.log(`\n${detector.name} (${describeParams(detector.defaults) || 'defaults'}): ${detector.summary}`);
  // Speed: best of three passes of the core scoring (one if a pass takes over 10 s).
  let scores: Float64Array[] = [];
  let bestMs = Infinity;
  for (let pass = 0; pass < 3 && (pass === 0 || bestMs < 10_000); pass++) {
    const timed = scoreAll(detector, corpus, detector.defaults);
    scores = timed.scores;
    bestMs = Math.min(bestMs, timed.ms);
  }
  printFullCorpus(corpus, toScored(corpus, scores));
  console.log(`\nspeed: ${pointsPerSecond(points, bestMs)} points/s (core scoring, single thread)`);

  if (resultsDir) {
    for (let i = 0; i < corpus.length; i++) await writeNabResults(resultsDir, detector.name, corpus[i]!, scores[i]!);
    console.log(`results written under ${resultsDir}/${detector.name}/ (NAB layout)`);
  }
}

function crossValidateDetector(detector: NabDetector, corpus: readonly NabSeries[], points: number, groups: number | undefined): void {
  const cost = PROFILES.standard;
  const categories = corpus.map((s) => s.category);
  const names = corpus.map((s) => s.key);
  let ms = 0;
  const candidates = detector.grid.map((params) => {
    const timed = scoreAll(detector, corpus, params);
    ms += timed.ms;
    return toScored(corpus, timed.scores);
  });
  // The defaults are usually a grid entry: reuse its scores rather than run a slow detector again.
  const defaultsKey = describeParams(detector.defaults);
  const defaultsIndex = detector.grid.findIndex((params) => describeParams(params) === defaultsKey);
  const full = scoreCorpus(
    defaultsIndex >= 0 ? candidates[defaultsIndex]! : toScored(corpus, scoreAll(detector, corpus, detector.defaults).scores),
    cost,
  );
  const inSample = Math.max(...candidates.map((c) => scoreCorpus(c, cost).normalised));
  console.log(`\n${detector.name}: ${detector.summary}`);
  console.log(
    `  full corpus (standard, threshold fitted on all four): ${full.normalised.toFixed(1)} with defaults (${describeParams(detector.defaults) || 'production options'}), ${inSample.toFixed(1)} best of the ${detector.grid.length}-entry grid`,
  );
  const printFolds = (title: string, results: readonly FoldResult[]): void => {
    console.log(`  ${title}`);
    for (const r of results) {
      console.log(
        `    ${r.testScore.toFixed(1).padStart(6)}  ${r.fold.name}   (tuned ${r.tuneScore.toFixed(1)} on ${r.fold.tune.length} series; ${describeParams(detector.grid[r.params]!) || 'defaults'}; threshold ${r.threshold.toPrecision(6)})`,
      );
    }
    const scores = results.map((r) => r.testScore);
    console.log(
      `    mean ${mean(scores).toFixed(1)}, min ${Math.min(...scores).toFixed(1)}, pooled ${pooledScore(results, names, cost).toFixed(1)}`,
    );
  };
  printFolds(
    'leave one category out (score: held-out category ∪ artificialNoAnomaly)',
    crossValidate(candidates, categoryFolds(categories), cost),
  );
  const byseries = seriesFolds(categories, names, groups);
  printFolds(
    `leave ${groups === undefined ? 'one real series' : `real series in ${byseries.length} groups`} out (score: held-out ∪ artificialNoAnomaly)`,
    crossValidate(candidates, byseries, cost),
  );
  console.log(`  speed: ${pointsPerSecond(points * detector.grid.length, ms)} points/s (core scoring over the grid, single thread)`);
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
