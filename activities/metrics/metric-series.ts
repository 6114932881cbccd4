import type { InfluxDB } from '@influxdata/influxdb-client';
import type { AnomalyMetric } from '../../common/anomaly-scan.js';
import type { FieldOf, Measurement, TagOf } from './measurements.js';

/** The run measurements the scan reads (written by sync-metrics.ts). */
const RUN_MEASUREMENTS = ['sync_run', 'sync_column'] as const satisfies readonly Measurement[];
type RunMeasurement = (typeof RUN_MEASUREMENTS)[number];
type MetricSource = {
  [M in RunMeasurement]: { measurement: M; field: FieldOf<M>; seriesTag: Exclude<TagOf<M>, 'dataset' | 'team' | 'status'> };
}[RunMeasurement];

/** The tag that tells a run measurement's series of one dataset apart. */
const SERIES_TAG: { [M in RunMeasurement]: MetricSource['seriesTag'] & TagOf<M> } = { sync_run: 'mode', sync_column: 'column' };

/**
 * Where each scanned metric lives in InfluxDB, and which tag besides the dataset tells its
 * series apart: the sync mode for run metrics (an incremental run and a full refresh are
 * different animals), the column for null rates.
 */
export const METRIC_SOURCES: Record<AnomalyMetric, MetricSource> = {
  volume: { measurement: 'sync_run', field: 'rows', seriesTag: SERIES_TAG.sync_run },
  freshness: { measurement: 'sync_run', field: 'freshness_lag_seconds', seriesTag: SERIES_TAG.sync_run },
  duration: { measurement: 'sync_run', field: 'duration_seconds', seriesTag: SERIES_TAG.sync_run },
  null_rate: { measurement: 'sync_column', field: 'null_rate', seriesTag: SERIES_TAG.sync_column },
};

/**
 * One metric of one dataset over time, ascending, in typed arrays. A series the reader hands over
 * is a view of its own buffers: valid only during the call, copied by whoever keeps it.
 */
export interface MetricSeries {
  dataset: string;
  metric: AnomalyMetric;
  seriesKey: string;
  t: Float64Array;
  v: Float64Array;
}

export interface SeriesRange {
  datasets: string[];
  metrics: AnomalyMetric[];
  startMs: number;
  /** Exclusive. */
  stopMs: number;
}

export interface ScorePoint {
  dataset: string;
  metric: AnomalyMetric;
  seriesKey: string;
  t: number;
  score: number;
  expected: number;
  lower: number;
  upper: number;
}

export const fluxString = (s: string): string => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('${', '\\${')}"`;
const fluxTime = (ms: number): string => new Date(ms).toISOString();
const regexLiteral = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');

/**
 * The Flux queries that read every requested series of these datasets in one pass: one per
 * measurement, a dataset alternation the storage engine filters on (an `or` chain of hundreds
 * of terms is not pushed down in InfluxDB 1.8; an anchored regex is), and only the columns the
 * scan needs, so the CSV stays small.
 */
export function seriesQueries(bucket: string, range: SeriesRange): { measurement: RunMeasurement; flux: string }[] {
  const datasets = `r.dataset =~ /^(${range.datasets.map(regexLiteral).join('|')})$/`;
  const head = `from(bucket: ${fluxString(bucket)})\n  |> range(start: ${fluxTime(range.startMs)}, stop: ${fluxTime(range.stopMs)})`;
  const query = (measurement: RunMeasurement, filter: string): { measurement: RunMeasurement; flux: string } => ({
    measurement,
    flux:
      `${head}\n  |> filter(fn: (r) => r._measurement == ${fluxString(measurement)} and ${filter} and ${datasets})\n` +
      `  |> keep(columns: ["_time", "_value", "_field", "dataset", ${fluxString(SERIES_TAG[measurement])}])`,
  });
  const queries: { measurement: RunMeasurement; flux: string }[] = [];
  const runFields = range.metrics.filter((m) => METRIC_SOURCES[m].measurement === 'sync_run').map((m) => METRIC_SOURCES[m].field);
  if (runFields.length > 0) {
    // Only succeeded runs: a failed run's row count says nothing about the source.
    const status: TagOf<'sync_run'> = 'status';
    queries.push(
      query('sync_run', `r.${status} == "succeeded" and (${runFields.map((f) => `r._field == ${fluxString(f)}`).join(' or ')})`),
    );
  }
  if (range.metrics.includes('null_rate')) queries.push(query('sync_column', `r._field == ${fluxString(METRIC_SOURCES.null_rate.field)}`));
  return queries;
}

/** The datasets with run metrics in a time range (optionally one team's): a tag-index read. */
export function datasetsQuery(bucket: string, range: { startMs: number; stopMs: number; team?: string }): string {
  const teamTag: TagOf<RunMeasurement> = 'team';
  const team = range.team === undefined ? '' : ` and r.${teamTag} == ${fluxString(range.team)}`;
  const measurements = RUN_MEASUREMENTS.map((m) => `r._measurement == ${fluxString(m)}`).join(' or ');
  return (
    `from(bucket: ${fluxString(bucket)})\n  |> range(start: ${fluxTime(range.startMs)}, stop: ${fluxTime(range.stopMs)})\n` +
    `  |> filter(fn: (r) => (${measurements})${team})\n` +
    `  |> keep(columns: ["dataset"])\n  |> group()\n  |> distinct(column: "dataset")`
  );
}

const FIELD_METRIC = new Map(Object.entries(METRIC_SOURCES).map(([metric, s]) => [`${s.measurement}/${s.field}`, metric as AnomalyMetric]));

let lastDay = '';
let lastDayMs = 0;

/** RFC 3339 as Flux prints it (UTC, `Z`, optional fraction) without Date.parse on every row. */
export function parseFluxTime(s: string): number {
  const n = s.length;
  if (n < 20 || s.charCodeAt(10) !== 84 || s.charCodeAt(n - 1) !== 90) return Date.parse(s);
  const day = s.slice(0, 10);
  if (day !== lastDay) {
    lastDayMs = Date.parse(`${day}T00:00:00Z`);
    lastDay = day;
  }
  const d = (i: number) => s.charCodeAt(i) - 48;
  let ms = lastDayMs + ((d(11) * 10 + d(12)) * 3600 + (d(14) * 10 + d(15)) * 60 + d(17) * 10 + d(18)) * 1000;
  if (s.charCodeAt(19) === 46) {
    let scale = 100;
    for (let i = 20; i < n - 1 && scale >= 1; i++, scale /= 10) ms += d(i) * scale;
  }
  return ms;
}

/** Splits one CSV record, quotes and all. */
export function splitCsv(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

const NL = 10;
const CR = 13;
const COMMA = 44;
const QUOTE = 34;
const HASH = 35;
const MINUS = 45;
const DOT = 46;
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
const utf8 = new TextDecoder();
const latin1 = (b: Uint8Array, s: number, e: number): string => String.fromCharCode(...b.subarray(s, e));

/**
 * A decimal as InfluxDB prints it, straight from the bytes: up to 15 significant digits and 22
 * decimals is exact (both parts are exact doubles and one division rounds correctly); anything
 * else (exponents, long mantissas) goes through Number.
 */
function parseNumber(b: Uint8Array, s: number, e: number): number {
  if (s === e) return NaN;
  let i = s;
  const negative = b[i] === MINUS;
  if (negative) i++;
  let mantissa = 0;
  let digits = 0;
  let decimals = -1;
  for (; i < e; i++) {
    const c = b[i]!;
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      if (decimals >= 0) decimals++;
    } else if (c === DOT && decimals < 0) decimals = 0;
    else return Number(latin1(b, s, e));
  }
  if (digits === 0 || digits > 15 || decimals > 22) return Number(latin1(b, s, e));
  const v = decimals > 0 ? mantissa / POW10[decimals]! : mantissa;
  return negative ? -v : v;
}

let lastDayKey = -1;
let lastDayKeyMs = 0;

const digit = (b: Uint8Array, i: number): number => b[i]! - 48;
const twoDigits = (b: Uint8Array, i: number): number => (b[i]! - 48) * 10 + b[i + 1]! - 48;

/**
 * `2025-01-06T13:00:00Z` (fraction optional) straight from the bytes; anything else via
 * Date.parse. (No closures in here: the hot path runs once per row.)
 */
function parseTime(b: Uint8Array, s: number, e: number): number {
  if (e - s < 20 || b[s + 10] !== 84 || b[e - 1] !== 90) return Date.parse(latin1(b, s, e));
  const year = twoDigits(b, s) * 100 + twoDigits(b, s + 2);
  const key = year * 10_000 + twoDigits(b, s + 5) * 100 + twoDigits(b, s + 8);
  if (key !== lastDayKey) {
    lastDayKeyMs = Date.UTC(year, twoDigits(b, s + 5) - 1, twoDigits(b, s + 8));
    lastDayKey = key;
  }
  let ms = lastDayKeyMs + (twoDigits(b, s + 11) * 3600 + twoDigits(b, s + 14) * 60 + twoDigits(b, s + 17)) * 1000;
  if (b[s + 19] === DOT) {
    let scale = 100;
    for (let i = s + 20; i < e - 1 && scale >= 1; i++, scale /= 10) ms += digit(b, i) * scale;
  }
  return ms;
}

/**
 * Sorts n points by time in place; for a time written twice the later value wins, as it does in
 * InfluxDB. Returns the number of points left.
 */
function sortPoints(t: Float64Array, v: Float64Array, n: number): number {
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => t[a]! - t[b]! || a - b);
  const times = Float64Array.from(order, (i) => t[i]!);
  const values = Float64Array.from(order, (i) => v[i]!);
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (m > 0 && t[m - 1] === times[i]) v[m - 1] = values[i]!;
    else {
      t[m] = times[i]!;
      v[m++] = values[i]!;
    }
  }
  return m;
}

/** What tells series apart across tables and queries. */
export const metricSeriesId = (s: Pick<MetricSeries, 'dataset' | 'metric' | 'seriesKey'>): string =>
  `${s.metric}\u0001${s.dataset}\u0001${s.seriesKey}`;

/**
 * Turns the CSV bytes of a `seriesQueries` query into series, without a string per row: Flux
 * sends each series as one table in time order, so the group key is decoded once per table and
 * each row only costs its table id, time and value. Only the current table is held, in typed
 * arrays the reader reuses: `onTable` gets it as soon as it ends (a view, valid during the call),
 * so scoring overlaps the read and memory does not grow with the number of series.
 */
export function createSeriesReader(measurement: RunMeasurement, onTable: (s: MetricSeries) => void) {
  const keyTag = SERIES_TAG[measurement];
  let header = false;
  let iTable = -1;
  let iTime = -1;
  let iValue = -1;
  let iField = -1;
  let iDataset = -1;
  let iKey = -1;
  let iError = -1;
  let last = -1;
  let hotLast = -1;
  let tableId = -1;
  let current: Pick<MetricSeries, 'dataset' | 'metric' | 'seriesKey'> | null = null;
  let times = new Float64Array(1_024);
  let values = new Float64Array(1_024);
  let length = 0;
  let ordered = true;
  let pending: Uint8Array | null = null;
  let rows = 0;
  const starts = new Int32Array(64);
  const ends = new Int32Array(64);

  function complete(): void {
    if (current && length > 0) {
      if (!ordered) length = sortPoints(times, values, length);
      onTable({ ...current, t: times.subarray(0, length), v: values.subarray(0, length) });
    }
    current = null;
    length = 0;
    tableId = -1;
  }

  function readHeader(fields: string[]): void {
    header = true;
    iTable = fields.indexOf('table');
    iTime = fields.indexOf('_time');
    iValue = fields.indexOf('_value');
    iField = fields.indexOf('_field');
    iDataset = fields.indexOf('dataset');
    iKey = fields.indexOf(keyTag);
    iError = fields.indexOf('error');
    last = Math.max(iTable, iTime, iValue, iField, iDataset, iKey);
    hotLast = Math.max(iTable, iTime, iValue);
    if (last >= starts.length) throw new Error(`unexpected Flux result columns: ${fields.join(',')}`);
  }

  function openSeries(table: number, field: string, dataset: string, key: string): void {
    complete();
    tableId = table;
    const metric = FIELD_METRIC.get(`${measurement}/${field}`);
    ordered = true;
    current = metric ? { dataset, metric, seriesKey: key } : null;
  }

  function add(t: number, value: number): void {
    if (!current || Number.isNaN(value) || !Number.isFinite(t)) return;
    if (length > 0 && t <= times[length - 1]!) ordered = false;
    if (length === times.length) {
      const grownTimes = new Float64Array(length * 2);
      grownTimes.set(times);
      times = grownTimes;
      const grownValues = new Float64Array(length * 2);
      grownValues.set(values);
      values = grownValues;
    }
    times[length] = t;
    values[length++] = value;
    rows++;
  }

  function text(b: Uint8Array, field: number): string {
    return field < 0 ? '' : utf8.decode(b.subarray(starts[field]!, ends[field]!));
  }

  /** A row with quotes in it: rare (tag values with commas), so as strings. */
  function slowRow(fields: string[]): void {
    const table = Number(fields[iTable]);
    if (table !== tableId)
      openSeries(table, iField >= 0 ? (fields[iField] ?? '') : '', fields[iDataset] ?? '', iKey >= 0 ? (fields[iKey] ?? '') : '');
    const value = fields[iValue] === '' ? NaN : Number(fields[iValue]);
    add(parseFluxTime(fields[iTime] ?? ''), value);
  }

  function line(b: Uint8Array, s: number, e: number): void {
    if (e > s && b[e - 1] === CR) e--;
    if (e === s) {
      complete(); // a new block, with its own header, may follow
      header = false;
      return;
    }
    if (b[s] === HASH) return;
    if (!header) {
      readHeader(splitCsv(utf8.decode(b.subarray(s, e))));
      return;
    }
    if (iError >= 0) {
      const fields = splitCsv(utf8.decode(b.subarray(s, e)));
      throw new Error(`InfluxDB query failed: ${fields[iError] || fields.join(',')}`);
    }
    if (iTime < 0 || iValue < 0 || iDataset < 0) return; // a result without series
    // Most rows continue the current table: split only as far as its id, time and value.
    const hot = hotLast;
    let n = 0;
    let from = s;
    for (let i = s; i < e; i++) {
      if (b[i] === COMMA) {
        starts[n] = from;
        ends[n++] = i;
        from = i + 1;
        if (n > hot) break;
      }
    }
    if (n <= hot) {
      starts[n] = from;
      ends[n++] = e;
    }
    if (n <= hot) return;
    const table = parseNumber(b, starts[iTable]!, ends[iTable]!);
    if (table !== tableId) {
      // A new table: its group key is in the rest of the row, which may be quoted.
      if (b.subarray(s, e).includes(QUOTE)) {
        slowRow(splitCsv(utf8.decode(b.subarray(s, e))));
        return;
      }
      for (let i = from; i < e && n <= last; i++) {
        if (b[i] === COMMA) {
          starts[n] = from;
          ends[n++] = i;
          from = i + 1;
        }
      }
      if (n <= last) {
        starts[n] = from;
        ends[n++] = e;
      }
      if (n <= last) return;
      openSeries(table, text(b, iField), text(b, iDataset), text(b, iKey));
    }
    add(parseTime(b, starts[iTime]!, ends[iTime]!), parseNumber(b, starts[iValue]!, ends[iValue]!));
  }

  return {
    get rows() {
      return rows;
    },
    push(chunk: Uint8Array): void {
      let pos = 0;
      if (pending) {
        const nl = chunk.indexOf(NL);
        if (nl < 0) {
          pending = concat(pending, chunk);
          return;
        }
        const joined = concat(pending, chunk.subarray(0, nl));
        pending = null;
        line(joined, 0, joined.length);
        pos = nl + 1;
      }
      for (;;) {
        const nl = chunk.indexOf(NL, pos);
        if (nl < 0) break;
        line(chunk, pos, nl);
        pos = nl + 1;
      }
      if (pos < chunk.length) pending = chunk.slice(pos);
    },
    end(): void {
      if (pending) line(pending, 0, pending.length);
      pending = null;
      complete();
    },
  };
}

/**
 * Folds every table of the series named in `ids` into whole series, for a series that comes in
 * more than one table (InfluxDB 1.8 sends one table per kept group key even when the team tag
 * changed in the range; the Flux contract does not promise it).
 */
export function createSeriesMerger(ids: ReadonlySet<string>) {
  const parts = new Map<string, Pick<MetricSeries, 'dataset' | 'metric' | 'seriesKey'> & { t: number[]; v: number[] }>();
  return {
    add(s: MetricSeries): void {
      const id = metricSeriesId(s);
      if (!ids.has(id)) return;
      let part = parts.get(id);
      if (!part) parts.set(id, (part = { dataset: s.dataset, metric: s.metric, seriesKey: s.seriesKey, t: [], v: [] }));
      for (let i = 0; i < s.t.length; i++) {
        part.t.push(s.t[i]!);
        part.v.push(s.v[i]!);
      }
    },
    /** The whole series, each sorted by time (the later table's value wins for a time in both). */
    *series(): Generator<MetricSeries> {
      for (const { t, v, ...head } of parts.values()) {
        const times = Float64Array.from(t);
        const values = Float64Array.from(v);
        const n = sortPoints(times, values, times.length);
        yield { ...head, t: times.subarray(0, n), v: values.subarray(0, n) };
      }
    },
  };
}

/** Where `read` hands the series it reads. */
export interface SeriesSink {
  /** Each series once it has arrived; its arrays are only valid during the call. */
  series(s: MetricSeries): void;
  /** Awaited after each chunk of a response: while it is pending, InfluxDB's sending waits (back-pressure). */
  drain?(): Promise<void> | undefined;
  /** Rows read so far, every 100,000 rows or so (for heartbeats). */
  rows?(total: number): void;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

const escapeTag = (s: string): string => s.replace(/[,= \\]/g, '\\$&');

const SCORE_MEASUREMENT: Measurement = 'anomaly_score';

/**
 * One `anomaly_score` point in line protocol (ms precision); null when a number cannot be
 * written. Written by hand, not through measurementPoint: the scan writes millions of them.
 */
export function scoreLine(p: ScorePoint): string | null {
  if (![p.score, p.expected, p.lower, p.upper].every(Number.isFinite)) return null;
  return (
    `${SCORE_MEASUREMENT},dataset=${escapeTag(p.dataset)},metric=${p.metric},series=${escapeTag(p.seriesKey || '-')} ` +
    `score=${p.score},expected=${p.expected},lower=${p.lower},upper=${p.upper} ${p.t}`
  );
}

/** Reads and writes the series the scan works on. */
export function createMetricSeries(influx: InfluxDB, org: string, bucket: string) {
  const queries = influx.getQueryApi(org);
  // The client's own line and row APIs cost more CPU than the scan's scoring; its transport hands
  // over the response bytes, with its URL, token, timeouts and error handling.
  const rawQuery = (flux: string): AsyncIterableIterator<Uint8Array> =>
    influx.transport.iterate(
      `/api/v2/query?org=${encodeURIComponent(org)}`,
      JSON.stringify({
        query: flux,
        type: 'flux',
        dialect: { header: true, delimiter: ',', annotations: [], commentPrefix: '#', dateTimeFormat: 'RFC3339' },
      }),
      { method: 'POST', headers: { 'content-type': 'application/json; encoding=utf-8', 'accept-encoding': 'identity' } },
    );

  return {
    async datasets(range: { startMs: number; stopMs: number; team?: string }): Promise<string[]> {
      const names: string[] = [];
      let columns: string[] | null = null;
      for await (const line of queries.iterateLines(datasetsQuery(bucket, range))) {
        if (line === '') columns = null;
        else if (line.charCodeAt(0) === 35) continue;
        else if (columns === null) columns = splitCsv(line);
        else {
          const value = splitCsv(line)[columns.indexOf('_value')];
          if (value) names.push(value);
        }
      }
      return [...new Set(names)].sort();
    },

    /**
     * Every requested series of these datasets, one query per measurement (run concurrently),
     * streamed: `sink.series` gets each series as soon as its table ends, and the next chunk is
     * read only once `sink.drain` allows. A series that turns out to span several tables is read
     * again once the rest is done (only its datasets) and handed over a second time, whole; the
     * sink keeps the last. Returns the rows read.
     */
    async read(range: SeriesRange, sink: SeriesSink): Promise<number> {
      if (range.datasets.length === 0) return 0;
      let total = 0;
      const stream = async (queryRange: SeriesRange, onTable: (s: MetricSeries) => void): Promise<void> => {
        await Promise.all(
          seriesQueries(bucket, queryRange).map(async ({ measurement, flux }) => {
            const reader = createSeriesReader(measurement, onTable);
            let counted = 0;
            for await (const chunk of rawQuery(flux)) {
              reader.push(chunk);
              if (reader.rows - counted >= 100_000) {
                total += reader.rows - counted;
                counted = reader.rows;
                sink.rows?.(total);
              }
              const wait = sink.drain?.();
              if (wait) await wait;
            }
            reader.end();
            total += reader.rows - counted;
          }),
        );
      };

      const handed = new Set<string>();
      const split = new Map<string, string>(); // series id → dataset, of series seen in a second table
      await stream(range, (s) => {
        const id = metricSeriesId(s);
        if (!handed.has(id)) {
          handed.add(id);
          sink.series(s);
        } else split.set(id, s.dataset);
      });
      if (split.size === 0) return total;

      const merger = createSeriesMerger(new Set(split.keys()));
      await stream({ ...range, datasets: [...new Set(split.values())].sort() }, (s) => merger.add(s));
      for (const s of merger.series()) {
        sink.series(s);
        const wait = sink.drain?.();
        if (wait) await wait;
      }
      return total;
    },

    /** The CSV bytes of a Flux query as they arrive (no annotations: the reader needs only the header). */
    rawQuery,

    /** A writer of `anomaly_score` points; points are sent in large batches while scoring goes on. */
    scoreWriter() {
      let failure: Error | undefined;
      let written = 0;
      const api = influx.getWriteApi(org, bucket, 'ms', {
        batchSize: 10_000,
        flushInterval: 0,
        maxRetries: 0,
        // The activity's own retry re-runs the whole (idempotent) group: no silent drops here.
        writeFailed(error) {
          failure ??= error;
          return Promise.reject(error);
        },
      });
      return {
        write(p: ScorePoint): void {
          const line = scoreLine(p);
          if (line === null) return;
          api.writeRecord(line);
          written++;
        },
        async close(): Promise<number> {
          try {
            await api.close();
          } catch (err) {
            failure ??= err as Error;
          }
          if (failure) throw failure;
          return written;
        },
      };
    },
  };
}
export type MetricSeriesStore = ReturnType<typeof createMetricSeries>;
