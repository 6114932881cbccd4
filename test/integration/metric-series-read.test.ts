import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricSeries } from '../../activities/metrics/metric-series.js';
import { createClients, type Clients } from '../../runtime/clients.js';
import { loadConfig } from '../../runtime/config.js';

const HOUR = 3_600_000;

describe('reading run metrics from InfluxDB as a stream of series', () => {
  const config = loadConfig();
  const tag = `t${randomUUID().slice(0, 8)}`;
  const moved = `ms_${tag}.orders`; // its team changes half-way (InfluxDB 1.8 still sends one table per series)
  const steady = `ms_${tag}.events`;
  const start = Math.floor(Date.now() / HOUR) * HOUR - 10 * 24 * HOUR;
  const hours = 48;
  const times = Array.from({ length: hours }, (_, i) => start + i * HOUR);
  let clients: Clients;

  beforeAll(async () => {
    clients = createClients(config);
    const lines: string[] = [];
    times.forEach((t, i) => {
      const team = i < hours / 2 ? `${tag}-a` : `${tag}-b`;
      lines.push(`sync_run,dataset=${moved},mode=incremental,status=succeeded,team=${team} rows=${100 + i}i ${t}`);
      lines.push(`sync_column,column=email,dataset=${moved},team=${team} null_rate=${i / 1000} ${t}`);
      lines.push(`sync_run,dataset=${steady},mode=incremental,status=succeeded,team=${tag}-a rows=${500 + i}i ${t}`);
    });
    const write = clients.influx.getWriteApi(config.influx.org, config.influx.bucket, 'ms');
    write.writeRecords(lines);
    await write.close();
  });

  afterAll(async () => {
    await clients?.close();
  });

  it('hands over every series whole and in time order, one whose team changed half-way included', async () => {
    const store = createMetricSeries(clients.influx, config.influx.org, config.influx.bucket);
    const handed: { id: string; t: number[]; v: number[] }[] = [];
    let drains = 0;
    const rows = await store.read(
      { datasets: [moved, steady], metrics: ['volume', 'null_rate'], startMs: start, stopMs: start + hours * HOUR },
      {
        series: (s) => handed.push({ id: `${s.dataset}/${s.metric}/${s.seriesKey}`, t: [...s.t], v: [...s.v] }),
        drain: () => {
          drains++;
          return Promise.resolve();
        },
      },
    );
    expect(rows).toBeGreaterThanOrEqual(3 * hours);
    expect(drains).toBeGreaterThan(0);

    // What the sink keeps: the last handover of each series.
    const last = new Map(handed.map((h) => [h.id, h]));
    expect([...last.keys()].sort()).toEqual([`${steady}/volume/incremental`, `${moved}/null_rate/email`, `${moved}/volume/incremental`]);
    expect(last.get(`${moved}/volume/incremental`)).toMatchObject({ t: times, v: times.map((_, i) => 100 + i) });
    expect(last.get(`${moved}/null_rate/email`)).toMatchObject({ t: times, v: times.map((_, i) => i / 1000) });
    expect(last.get(`${steady}/volume/incremental`)).toMatchObject({ t: times, v: times.map((_, i) => 500 + i) });
    // One table per series of the steady dataset: handed over once.
    expect(handed.filter((h) => h.id.startsWith(steady)).length).toBe(1);
  });
});
