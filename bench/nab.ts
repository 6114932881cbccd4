import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { scoreSeries } from '../activities/quality/detector.js';
import { loadCorpus, type NabSeries } from './nab/corpus.js';
import { windowedGaussianScores } from './nab/reference-detectors.js';
import { writeNabResults } from './nab/results.js';
import { PROFILES, normaliseSubset, scoreCorpus, type ProfileName, type ScoredSeries } from './nab/scorer.js';

/**
 * npx tsx bench/nab.ts [dataDir] [windowsFile] [--results-dir <dir>] [--detector spokeflow|windowedGaussian]
 *
 * Scores the anomaly-scan detector on the NAB series beside the repo the NAB way (one threshold
 * for the whole corpus, normalised null = 0, perfect = 100) and reports its speed. With
 * --results-dir it writes NAB's results layout so numenta/NAB's own scorer can check the figure.
 * `--detector windowedGaussian` scores NAB's windowed Gaussian baseline instead: a check of the
 * scorer against NAB's published figures (28.2 standard on these four categories).
 */
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

interface Args {
  dataDir: string;
  windowsFile: string;
  resultsDir: string | undefined;
  detector: 'spokeflow' | 'windowedGaussian';
}

function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  let resultsDir: string | undefined;
  let detector: Args['detector'] = 'spokeflow';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--results-dir') resultsDir = argv[++i];
    else if (arg === '--detector') {
      const name = argv[++i];
      if (name !== 'spokeflow' && name !== 'windowedGaussian') throw new Error(`unknown detector ${name}`);
      detector = name;
    } else positional.push(arg);
  }
  return {
    dataDir: resolve(repoRoot, positional[0] ?? '../shared/data/nab/data'),
    windowsFile: resolve(repoRoot, positional[1] ?? '../shared/data/nab/combined_windows.json'),
    resultsDir: resultsDir && resolve(process.cwd(), resultsDir),
    detector,
  };
}

function detect(detector: Args['detector'], series: NabSeries): Float64Array {
  return detector === 'windowedGaussian' ? windowedGaussianScores(series.values) : scoreSeries(series.timestamps, series.values).scores;
}

async function run(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const corpus = await loadCorpus(args.dataDir, args.windowsFile);
  const points = corpus.reduce((sum, s) => sum + s.values.length, 0);

  // Speed: the core scoring only (data already parsed), best of three passes.
  let scores: Float64Array[] = [];
  let bestMs = Infinity;
  for (let pass = 0; pass < 3; pass++) {
    const started = performance.now();
    scores = corpus.map((s) => detect(args.detector, s));
    bestMs = Math.min(bestMs, performance.now() - started);
  }
  const scored: ScoredSeries[] = corpus.map((s, i) => ({ name: s.key, scores: scores[i]!, windows: s.windows }));

  console.log(`${args.detector} on ${corpus.length} NAB series (${points.toLocaleString('en-US')} points) from ${args.dataDir}`);
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
  console.log(
    `\nspeed: ${((points / bestMs) * 1000).toLocaleString('en-US', { maximumFractionDigits: 0 })} points/s (core scoring, single thread)`,
  );

  if (args.resultsDir) {
    for (let i = 0; i < corpus.length; i++) await writeNabResults(args.resultsDir, args.detector, corpus[i]!, scores[i]!);
    console.log(`results written under ${args.resultsDir}/${args.detector}/ (NAB layout)`);
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
