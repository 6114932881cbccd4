import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SDK_METRICS, SPOKEFLOW_METRICS } from '../../common/metric-names.js';
import { openHarness, type Harness } from '../support/harness.js';
import { exitOf, polling, startWorkerProcess } from '../support/worker-process.js';
import { freePort, scrape } from '../support/prometheus.js';

const run = promisify(execFile);

/** A span as OTLP/JSON carries it (exporter-trace-otlp-http 0.57 posts JSON, ids in hex). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
}

/** An OTLP/HTTP trace receiver on loopback: every span posted to /v1/traces, with its service name. */
async function startOtlpReceiver(): Promise<{ url: string; spans: OtlpSpan[]; server: Server }> {
  const spans: OtlpSpan[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !req.headers['content-type']?.includes('json')) {
        res.writeHead(415).end();
        return;
      }
      type Attr = { key: string; value: { stringValue?: string } };
      const request = JSON.parse(body) as {
        resourceSpans: { resource: { attributes: Attr[] }; scopeSpans: { spans: Omit<OtlpSpan, 'service'>[] }[] }[];
      };
      for (const rs of request.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans) for (const s of ss.spans) spans.push({ ...s, service });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, server };
}

describe('observability of a sync run by a real worker process', () => {
  const tag = `o${randomUUID().slice(0, 8)}`;
  const table = `obs_${tag}`;
  const dataset = `obs.${tag}`;
  const ROWS = 1_234;
  let h: Harness;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let worker: ChildProcess;
  let metricsUrl: string;

  beforeAll(async () => {
    h = await openHarness({ inProcessWorker: false });
    receiver = await startOtlpReceiver();
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    await h.postgres.query(
      `CREATE TABLE public.${table} AS SELECT g AS id, now() - interval '1 minute' AS at FROM generate_series(1, ${ROWS}) g`,
    );
    await h.postgres.query(`ALTER TABLE public.${table} ADD PRIMARY KEY (id)`);
    await h.declarePublicTable(dataset, table);
    worker = startWorkerProcess(h.taskQueue, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '200',
      SPOKEFLOW_PROMETHEUS_BIND: `127.0.0.1:${port}`,
    });
    await polling(worker);
    // The trace starts at the CLI's start call, as an operator's run does.
    await run(
      process.execPath,
      ['bin/spokeflow.js', 'run', 'syncWorkflow', '--input', JSON.stringify({ dataset, pageRows: 500 }), '--task-queue', h.taskQueue],
      { env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } },
    );
  });

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await exitOf(worker);
    }
    receiver?.server.close();
    if (!h) return;
    await h.postgres.query(`DROP TABLE IF EXISTS public.${table}`);
    await h.warehouse.query(`DROP TABLE IF EXISTS \`${table}\``);
    await h.close();
  });

  it('exports one trace from the CLI start through the workflow, its activities and their store calls', async () => {
    const named = (name: string) => receiver.spans.find((s) => s.name === name);
    // The workflow's own span ends after its last activity's (it still starts the checks child), and
    // each process exports on its own batch timer: wait for every span asserted on, not only the last activity's.
    const awaited = ['StartWorkflow:syncWorkflow', 'RunWorkflow:syncWorkflow', 'RunActivity:finishSync', 'InfluxDB close'];
    for (let i = 0; i < 300 && !awaited.every(named); i++) await new Promise((r) => setTimeout(r, 100));
    const start = named('StartWorkflow:syncWorkflow');
    expect(start?.service).toBe('spokeflow-cli');
    const trace = receiver.spans.filter((s) => s.traceId === start!.traceId);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const ancestors = (s: OtlpSpan): string[] => {
      const names: string[] = [];
      for (let p = s.parentSpanId && byId.get(s.parentSpanId); p; p = p.parentSpanId && byId.get(p.parentSpanId)) names.push(p.name);
      return names;
    };
    const inTrace = (name: string) => trace.filter((s) => s.name === name);

    const [workflow] = inTrace('RunWorkflow:syncWorkflow');
    expect(workflow?.service).toBe('spokeflow-ingestion');
    expect(ancestors(workflow!)).toEqual(['StartWorkflow:syncWorkflow']);
    for (const activity of ['planSync', 'copyChunk', 'finishSync']) {
      const [span] = inTrace(`RunActivity:${activity}`);
      expect(span, activity).toBeDefined();
      expect(ancestors(span!)).toEqual([`StartActivity:${activity}`, 'RunWorkflow:syncWorkflow', 'StartWorkflow:syncWorkflow']);
    }
    // Store calls are children of the activity that made them.
    const storeCalls = trace.filter((s) => /^(MySQL catalog|MinIO|InfluxDB|Postgres source "local-postgres") /.test(s.name));
    const under = (activity: string) => storeCalls.filter((s) => ancestors(s)[0] === `RunActivity:${activity}`).map((s) => s.name);
    expect(under('copyChunk')).toEqual(expect.arrayContaining(['Postgres source "local-postgres" readPageText', 'MinIO putObject']));
    expect(under('copyChunk').some((n) => n.startsWith('MySQL catalog '))).toBe(true);
    expect(under('finishSync')).toContain('InfluxDB close');
  });

  it("serves the SDK's metrics and spokeflow's own on the worker's /metrics", async () => {
    const scraped = await scrape(metricsUrl);
    const names = new Set(scraped.map((s) => s.name.replace(/_(bucket|sum|count)$/, '')));
    for (const name of SDK_METRICS) expect(names, name).toContain(name);
    // The labels the dashboard groups the SDK's metrics by.
    const labelsOf = (name: string) => [...new Set(scraped.filter((s) => s.name === name).flatMap((s) => Object.keys(s.labels)))];
    expect(labelsOf('temporal_workflow_completed')).toEqual(expect.arrayContaining(['workflow_type', 'task_queue']));
    expect(labelsOf('temporal_workflow_endtoend_latency_bucket')).toEqual(expect.arrayContaining(['workflow_type', 'le']));
    expect(labelsOf('temporal_activity_execution_latency_bucket')).toEqual(expect.arrayContaining(['activity_type', 'le']));
    expect(labelsOf('temporal_activity_schedule_to_start_latency_bucket')).toEqual(expect.arrayContaining(['task_queue', 'le']));
    expect(labelsOf('temporal_workflow_task_schedule_to_start_latency_bucket')).toEqual(expect.arrayContaining(['task_queue', 'le']));
    expect(labelsOf('temporal_worker_task_slots_available')).toEqual(expect.arrayContaining(['worker_type', 'task_queue']));
    const ours = (name: string) => scraped.filter((s) => s.name === name && s.labels.dataset === dataset);
    expect(ours(SPOKEFLOW_METRICS.rowsSynced.name).map((s) => s.value)).toEqual([ROWS]);
    expect(ours(SPOKEFLOW_METRICS.syncRuns.name).map((s) => [s.labels.status, s.value])).toEqual([['succeeded', 1]]);
    const [lag] = ours(SPOKEFLOW_METRICS.syncLag.name);
    expect(lag!.value).toBeGreaterThanOrEqual(60);
    expect(ours(SPOKEFLOW_METRICS.rowsQuarantined.name)).toEqual([]); // nothing quarantined, nothing counted
  });
});
