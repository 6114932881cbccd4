import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NabSeries } from './corpus.js';
import { PROFILES, rowWeights, type ProfileName } from './scorer.js';

const PROFILE_COLUMNS: ProfileName[] = ['reward_low_FP_rate', 'reward_low_FN_rate', 'standard'];

/**
 * NAB's results layout: `<dir>/<detector>/<category>/<detector>_<file>.csv` with
 * timestamp,value,anomaly_score,label and, as NAB's scorer appends them, S(t)_<profile> per profile
 * (what the row would be worth as a detection). NAB's own optimize/score/normalize steps read
 * timestamp and anomaly_score and rewrite the S(t) columns.
 */
export async function writeNabResults(dir: string, detector: string, series: NabSeries, scores: ArrayLike<number>): Promise<void> {
  const weights = PROFILE_COLUMNS.map((p) => rowWeights(series.values.length, series.windows, PROFILES[p]));
  const label = new Uint8Array(series.values.length);
  for (const [start, end] of series.windows) label.fill(1, start, end + 1);
  const lines = [`timestamp,value,anomaly_score,label,${PROFILE_COLUMNS.map((p) => `S(t)_${p}`).join(',')}`];
  for (let i = 0; i < series.values.length; i++) {
    const worth = weights.map((w) => w.weight[i]!);
    lines.push(`${series.timestampText[i]},${series.valueText[i]},${scores[i]},${label[i]},${worth.join(',')}`);
  }
  const folder = join(dir, detector, series.category);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, `${detector}_${series.name}.csv`), lines.join('\n') + '\n');
}
