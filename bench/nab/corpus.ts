import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Window } from './scorer.js';

/** One NAB data file with its labelled windows. */
export interface NabSeries {
  /** `category/file.csv`, the key of combined_windows.json. */
  readonly key: string;
  readonly category: string;
  /** File name without `.csv`. */
  readonly name: string;
  /** The timestamps as written in the file, for the results CSVs. */
  readonly timestampText: readonly string[];
  readonly valueText: readonly string[];
  /** Epoch ms (UTC; NAB timestamps carry no zone). */
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly windows: readonly Window[];
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

export function parseTimestamp(text: string): number {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) throw new Error(`not a NAB timestamp: ${text}`);
  const ms = m[7] ? Math.floor(Number(m[7].padEnd(6, '0')) / 1000) : 0;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, ms);
}

/** Every `category/*.csv` under dataDir that combined_windows.json labels, in a stable order. */
export async function loadCorpus(dataDir: string, windowsFile: string): Promise<NabSeries[]> {
  const labels = JSON.parse(await readFile(windowsFile, 'utf8')) as Record<string, [string, string][]>;
  const series: NabSeries[] = [];
  for (const category of (await readdir(dataDir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()) {
    for (const file of (await readdir(join(dataDir, category))).filter((f) => f.endsWith('.csv')).sort()) {
      const key = `${category}/${file}`;
      const windowTexts = labels[key];
      if (!windowTexts) continue;
      series.push(parseSeries(key, await readFile(join(dataDir, category, file), 'utf8'), windowTexts));
    }
  }
  return series;
}

function parseSeries(key: string, csv: string, windowTexts: readonly [string, string][]): NabSeries {
  const lines = csv.split(/\r?\n/).filter((l) => l.length > 0);
  const header = lines[0]?.split(',');
  if (header?.[0] !== 'timestamp' || header[1] !== 'value') throw new Error(`${key}: expected a timestamp,value header`);
  const rows = lines.length - 1;
  const timestampText: string[] = new Array(rows);
  const valueText: string[] = new Array(rows);
  const timestamps = new Float64Array(rows);
  const values = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const line = lines[i + 1]!;
    const comma = line.indexOf(',');
    timestampText[i] = line.slice(0, comma);
    valueText[i] = line.slice(comma + 1);
    timestamps[i] = parseTimestamp(timestampText[i]!);
    values[i] = Number(valueText[i]);
  }
  // NAB requires window limits to be timestamps of the file, exactly.
  const index = new Map<number, number>();
  timestamps.forEach((t, i) => index.set(t, i));
  const windows = windowTexts.map(([from, to]): Window => {
    const start = index.get(parseTimestamp(from));
    const end = index.get(parseTimestamp(to));
    if (start === undefined || end === undefined) throw new Error(`${key}: window [${from}, ${to}] does not match timestamps of the file`);
    return [start, end];
  });
  const slash = key.indexOf('/');
  return {
    key,
    category: key.slice(0, slash),
    name: key.slice(slash + 1, -'.csv'.length),
    timestampText,
    valueText,
    timestamps,
    values,
    windows,
  };
}
