import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadCorpus, type NabSeries } from './nab/corpus.js';
import { DETECTORS, describeParams, findDetector, type DetectorParams, type NabDetector } from './nab/detectors.js';
import { writeNabResults } from './nab/results.js';
import { PROFILES, normaliseSubset, scoreCorpus, type ProfileName, type ScoredSeries } from './nab/scorer.js';

const USAGE = `npm run bench:nab -- [--data DIR] [--windows FILE] [--results-dir DIR] [--detector NAME]
  (or positionally: bench/nab.ts [DIR] [FILE] ...)

Scores a detector on NAB-shaped data the NAB way (one threshold for the whole corpus, null
detector = 0, perfect = 100) and reports its core scoring speed. --results-dir writes NAB's
results layout so numenta/NAB's own scorer can check the figure.
  --data DIR         NAB data folder (category/*.csv); default ../shared/data/nab/data
  --windows FILE     combined_windows.json; default ../shared/data/nab/combined_windows.json
  --results-dir DIR  also write <DIR>/<detector>/<category>/<detector>_<file>.csv
  --detector NAME    ${DETECTORS.map((d) => d.name).join(' | ')} (default spokeflow)`;

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

interface Args {
  dataDir: string;
  windowsFile: string;
  resultsDir: string | undefined;
  detector: NabDetector;
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
    detector: findDetector(values.detector),
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
  const { detector } = args;
  const corpus = await loadCorpus(args.dataDir, args.windowsFile);
  const points = corpus.reduce((sum, s) => sum + s.values.length, 0);
  console.log(
    `${detector.name} (${describeParams(detector.defaults) || 'defaults'}) on ${corpus.length} NAB series (${points.toLocaleString('en-US')} points) from ${args.dataDir}`,
  );

  // Speed: best of three passes of the core scoring.
  let scores: Float64Array[] = [];
  let bestMs = Infinity;
  for (let pass = 0; pass < 3; pass++) {
    const timed = scoreAll(detector, corpus, detector.defaults);
    scores = timed.scores;
    bestMs = Math.min(bestMs, timed.ms);
  }
  printFullCorpus(corpus, toScored(corpus, scores));
  console.log(`\nspeed: ${pointsPerSecond(points, bestMs)} points/s (core scoring, single thread)`);

  if (args.resultsDir) {
    for (let i = 0; i < corpus.length; i++) await writeNabResults(args.resultsDir, detector.name, corpus[i]!, scores[i]!);
    console.log(`results written under ${args.resultsDir}/${detector.name}/ (NAB layout)`);
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
