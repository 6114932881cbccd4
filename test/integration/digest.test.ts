import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { RowDataPacket } from 'mysql2/promise';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClaimLost, createDeliveryLedger } from '../../activities/catalog/delivery-ledger.js';
import { digestMessageId } from '../../activities/notify/digest.js';
import { SPOKEFLOW_METRICS } from '../../common/metric-names.js';
import { sqlTime } from '../../common/time.js';
import { digestObjectKey, type DigestProgress, type DigestResult } from '../../common/digest.js';
import { SearchAttr } from '../../common/search-attributes.js';
import { notificationsPlugin } from '../../workers/notifications-plugin.js';
import { startSmtpSink, startWebhookSink, mailPart, type SmtpSink, type WebhookSink } from '../support/mail-sinks.js';
import { openHarness, WorkflowFailedError, type Harness } from '../support/harness.js';
import { exitOf, polling } from '../support/worker-process.js';
import { connectWorker } from '../../runtime/temporal.js';

const HOUR = 3_600_000;
const DAY_MS = 24 * HOUR;
const DAY = '2025-03-12';
const dayMs = (d: string) => Date.parse(`${d}T00:00:00Z`);
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const CHROMIUM = process.env.SPOKEFLOW_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOT = '/tmp/spokeflow-digest.png';

describe('digests on the real stack, delivered to a real SMTP server and webhook on loopback', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  const team = `digest-${tag}`;
  const ana = `ana-${tag}@example.com`;
  const bo = `bo-${tag}@example.com`;
  const cy = `cy-${tag}@example.com`;
  const dsA = `dg_${tag}.orders`;
  const dsB = `dg_${tag}.refunds`;
  const dsC = `dg_${tag}.customers`;
  const dsD = `dg_${tag}.stock`;
  // A team of its own for the checks digest, so the other tests' counts stay as they are.
  const checksTeam = `digest-checks-${tag}`;
  const dee = `dee-${tag}@example.com`;
  const dsE = `dg_${tag}.payments`;
  const names = [dsA, dsB, dsC, dsD, dsE];
  const recipients = [ana, bo, cy, dee].map((o) => `owner:${o}`).concat(`team:${team}`);
  const scanId = `scan-${tag}`;
  const failedRunId = `run-failed-${tag}`;

  let smtp: SmtpSink;
  let hook: WebhookSink;
  let h: Harness;
  let workerConnection: NativeConnection;
  const children: ChildProcess[] = [];

  const start = (input: Record<string, unknown>, taskQueue = h.taskQueue) =>
    h.client.workflow.start('digestWorkflow', { taskQueue, workflowId: `test-digest-${tag}-${randomUUID().slice(0, 8)}`, args: [input] });
  const ours = () => smtp.messages.filter((m) => m.to.includes(tag));
  const mid = (recipient: string, period: string, channel: 'email' | 'webhook' = 'email') =>
    digestMessageId(recipient, period, channel, h.config.digests.from);
  const link = (workflowId: string, runId?: string) =>
    `${h.config.temporal.uiUrl}/namespaces/${h.config.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}/history` : ''}`;

  async function ledger(period: string): Promise<Record<string, unknown>[]> {
    const [rows] = await h.clients.catalog.query<RowDataPacket[]>(
      'SELECT recipient, channel, status, claims, resends, message_id, object_key FROM digest_deliveries WHERE period = ? AND recipient IN (?) ORDER BY recipient, channel',
      [period, recipients],
    );
    return rows;
  }

  async function object(key: string): Promise<string> {
    const stream = await h.clients.minio.getObject(h.config.digests.bucket, key);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  beforeAll(async () => {
    smtp = await startSmtpSink();
    hook = await startWebhookSink();
    process.env.SPOKEFLOW_SMTP_URL = smtp.url;
    process.env.SPOKEFLOW_DIGEST_WEBHOOK_URL = hook.url;
    h = await openHarness({ domain: 'notifications', prometheus: true });
    workerConnection = await connectWorker(h.config);

    const declare = (name: string, owner: string, extra: Record<string, unknown> = {}) =>
      h.datasets.upsert({
        name,
        source: { kind: 'postgres', connection: 'local-postgres', table: 'public.orders', primaryKey: ['id'] },
        target: { table: name.replace('.', '_') },
        owner,
        team,
        description: 'digest test data',
        ...extra,
      });
    await declare(dsA, ana);
    await declare(dsB, ana, { freshnessSlaHours: 24 });
    await declare(dsC, bo);
    await declare(dsD, cy);

    // Scores for the 14 days up to DAY: A falls from 85 to 70 on DAY, C rises from 80 to 85, D stays at 100.
    const scores: unknown[][] = [];
    for (let i = 13; i >= 0; i--) {
      const day = dayOf(dayMs(DAY) - i * DAY_MS);
      const row = (dataset: string, score: number) => [dataset, day, team, score, 100, 100, 100, 100, '{}', '{}', `${day} 23:59:59`];
      scores.push(row(dsA, i === 0 ? 70 : 85), row(dsB, 90), row(dsC, i === 0 ? 85 : 80), row(dsD, 100));
    }
    await h.clients.catalog.query(
      'INSERT INTO health_scores (dataset, day, team, score, documentation, freshness, reliability, quality, components, weights, as_of) VALUES ?',
      [scores],
    );
    const t = (hours: number) => sqlTime(dayMs(DAY) + hours * HOUR);
    await h.clients.catalog.query(
      'INSERT INTO sync_runs (sync_run_id, dataset, workflow_id, mode, status, started_at, finished_at, error) VALUES ?',
      [
        [
          [failedRunId, dsA, `sync:${dsA}`, 'incremental', 'failed', t(6), t(6.1), 'connection refused by source'],
          [`run-ok-a-${tag}`, dsA, `sync:${dsA}`, 'incremental', 'succeeded', t(8), t(8.1), null],
          // B's last success is 36 h before DAY's end: stale against its 24 h SLA.
          [`run-ok-b-${tag}`, dsB, `sync:${dsB}`, 'incremental', 'succeeded', t(-12.1), t(-12), null],
          [`run-ok-c-${tag}`, dsC, `sync:${dsC}`, 'incremental', 'succeeded', t(9), t(9.1), null],
        ],
      ],
    );
    await h.clients.catalog.query(
      `INSERT INTO anomaly_scans (scan_id, workflow_id, status, window_from, window_to, training_from, metrics, detector)
       VALUES (?, ?, 'succeeded', ?, ?, ?, '[]', '{}')`,
      [scanId, `anomaly-scan:${tag}`, t(0), t(24), t(-240)],
    );
    const anomaly = (dataset: string, hours: number, status: string) => [
      dataset,
      'volume',
      'incremental',
      t(hours),
      5000,
      1000,
      800,
      1200,
      0.99,
      'up',
      status,
      scanId,
    ];
    await h.clients.catalog.query(
      'INSERT INTO anomalies (dataset, metric, series_key, at, value, expected, lower_bound, upper_bound, score, direction, status, scan_id) VALUES ?',
      [[anomaly(dsA, 10, 'open'), anomaly(dsC, 11, 'dismissed'), anomaly(dsA, -30, 'open')]],
    );
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (h) {
      await h.clients.catalog.query('DELETE FROM digest_deliveries WHERE recipient IN (?)', [recipients]);
      for (const table of ['health_scores', 'anomalies', 'sync_runs', 'dataset_columns', 'check_results']) {
        await h.clients.catalog.query(`DELETE FROM ${table} WHERE dataset IN (?)`, [names]);
      }
      await h.clients.catalog.query('DELETE FROM anomaly_scans WHERE scan_id = ?', [scanId]);
      await h.clients.catalog.query('DELETE FROM digest_runs WHERE workflow_id LIKE ?', [`%${tag}%`]);
      await h.clients.catalog.query('DELETE FROM datasets WHERE name IN (?)', [names]);
      const keys: string[] = [];
      for await (const item of h.clients.minio.listObjectsV2(h.config.digests.bucket, 'digests/', true)) {
        if (item.name?.includes(tag)) keys.push(item.name);
      }
      if (keys.length) await h.clients.minio.removeObjects(h.config.digests.bucket, keys);
      await workerConnection?.close();
      await h.close();
    }
    await smtp?.close();
    await hook?.close();
  });

  it('sends one digest per owner with its score changes, new anomalies, failed syncs and stale datasets, and a re-run sends nothing', async () => {
    const handle = await start({ period: { kind: 'daily', date: DAY }, scope: { team }, channels: ['email'] });
    const result: DigestResult = await handle.result();
    const period = `daily:${DAY}`;
    expect(result).toEqual({ period, pages: 1, recipients: 3, sent: 2, resent: 0, alreadyDone: 0, empty: 1, failed: 0, objects: 2 });

    const mails = ours();
    const counts = smtp.countsById();
    expect([
      counts.get(mid(`owner:${ana}`, period)),
      counts.get(mid(`owner:${bo}`, period)),
      counts.get(mid(`owner:${cy}`, period)),
    ]).toEqual([1, 1, undefined]);
    expect(mails.map((m) => m.to).sort()).toEqual([ana, bo]);

    const toAna = mails.find((m) => m.to === ana)!;
    expect(toAna.subject).toBe(`[spokeflow] Daily digest ${DAY} for ${ana}: 1 new anomaly, 1 failed sync, 1 stale dataset, 1 score change`);
    expect(toAna.headers.get('x-spokeflow-digest')).toBe(`${period} owner:${ana}`);
    const text = mailPart(toAna.raw, 'text/plain')!;
    expect(text).toContain(`  - ${dsA}: 85.0 -> 70.0 (-15.0)`);
    expect(text).toContain(
      `  - ${dsA} volume at ${DAY} 10:00 UTC: 5000 (expected 800-1200, up, open)\n    ${link(`anomaly-scan:${tag}`, scanId)}`,
    );
    expect(text).toContain(`  - ${dsA} at ${DAY} 06:00 UTC: connection refused by source\n    ${link(`sync:${dsA}`, failedRunId)}`);
    expect(text).toContain(`  - ${dsB}: last successful sync 2025-03-11 12:00 UTC, SLA 24 h\n    ${link(`sync:${dsB}`)}`);
    expect(text).not.toContain('2025-03-10'); // the anomaly of the day before is not new today
    const html = mailPart(toAna.raw, 'text/html')!;
    expect(html).toBe(await object(digestObjectKey(period, `owner:${ana}`)));
    expect(html.match(/<polyline /g)).toHaveLength(1);
    expect(html).toContain(`href="${link(`anomaly-scan:${tag}`, scanId)}"`);

    const toBo = mails.find((m) => m.to === bo)!;
    expect(toBo.subject).toBe(`[spokeflow] Daily digest ${DAY} for ${bo}: 1 score change`);
    expect(mailPart(toBo.raw, 'text/plain')).toContain(`  - ${dsC}: 80.0 -> 85.0 (+5.0)`);

    expect(await ledger(period)).toEqual([
      expect.objectContaining({
        recipient: `owner:${ana}`,
        status: 'sent',
        claims: 1,
        resends: 0,
        message_id: mid(`owner:${ana}`, period),
      }),
      expect.objectContaining({ recipient: `owner:${bo}`, status: 'sent', claims: 1, resends: 0 }),
      expect.objectContaining({ recipient: `owner:${cy}`, status: 'empty', claims: 1, object_key: null }),
    ]);
    const progress = await handle.query<DigestProgress>('progress');
    expect(progress).toMatchObject({ period, phase: 'done', pages: 1, pagesDone: 1, plannedRecipients: 3, sent: 2 });
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(SearchAttr.kind)).toBe('digest');
    expect(described.typedSearchAttributes.get(SearchAttr.team)).toBe(team);
    expect(described.typedSearchAttributes.get(SearchAttr.partition)).toBe(period);
    // The run is on record with how it ended, beside the ledger of what it sent.
    const [runs] = await h.clients.catalog.query<RowDataPacket[]>(
      'SELECT period, audience, scope, status, recipients, sent, refused, error FROM digest_runs WHERE digest_run_id = ?',
      [handle.firstExecutionRunId],
    );
    expect(runs).toEqual([
      { period, audience: 'owners', scope: `team ${team}`, status: 'succeeded', recipients: 3, sent: 2, refused: 0, error: null },
    ]);

    const again: DigestResult = await (
      await start({ period: { kind: 'daily', date: DAY }, scope: { team }, channels: ['email'] })
    ).result();
    expect(again).toEqual({ period, pages: 1, recipients: 3, sent: 0, resent: 0, alreadyDone: 3, empty: 0, failed: 0, objects: 0 });
    expect(ours()).toHaveLength(2);
  });

  it("lists an owner's checks newly failing and recovered in the period, with run links and samples; /metrics counts the send once", async () => {
    await h.datasets.upsert({
      name: dsE,
      source: { kind: 'postgres', connection: 'local-postgres', table: 'public.orders', primaryKey: ['id'] },
      target: { table: dsE.replace('.', '_') },
      owner: dee,
      team: checksTeam,
      description: 'digest test data',
    });
    const t = (hours: number) => sqlTime(dayMs(DAY) + hours * HOUR);
    const result = (
      run: string,
      checkId: string,
      severity: string,
      status: string,
      hours: number,
      extra: { sample?: string; error?: string } = {},
    ) => [
      `${run}-${tag}`,
      dsE,
      checksTeam,
      checkId,
      'range',
      severity,
      status,
      status === 'failed' ? 7 : null,
      extra.sample ?? null,
      extra.error ?? null,
      t(hours),
    ];
    const sample = `_checks/${dsE}/now-${tag}/pay_amount_range.parquet`;
    await h.clients.catalog.query(
      'INSERT INTO check_results (run_id, dataset, team, check_id, kind, severity, status, failing_rows, sample_key, error, checked_at) VALUES ?',
      [
        [
          result('before', 'pay_amount_range', 'error', 'passed', -20),
          result('now', 'pay_amount_range', 'error', 'failed', 9, { sample }),
          // errored with no result before the period: newly failing too
          result('now', 'pay_fk', 'warn', 'errored', 9, { error: "Unknown column 'customer'" }),
          result('before', 'pay_unique', 'error', 'failed', -40),
          result('now', 'pay_unique', 'error', 'passed', 9),
          // failing on both sides of the period's start, or changed only after its end: not listed
          result('before', 'pay_not_null', 'error', 'failed', -20),
          result('now', 'pay_not_null', 'error', 'failed', 9),
          result('before', 'pay_late', 'error', 'passed', -20),
          result('next', 'pay_late', 'error', 'failed', 30),
        ],
      ],
    );
    const counters = async () => {
      const samples = await h.metrics();
      const total = (name: string) =>
        samples.filter((s) => s.name === name && s.labels.channel === 'email').reduce((sum, s) => sum + s.value, 0);
      return {
        sent: total(SPOKEFLOW_METRICS.digestsSent.name),
        resent: total(SPOKEFLOW_METRICS.digestsResent.name),
        failed: total(SPOKEFLOW_METRICS.digestsFailed.name),
      };
    };
    const before = await counters();
    const input = { period: { kind: 'daily', date: DAY }, scope: { team: checksTeam }, channels: ['email'] };
    const period = `daily:${DAY}`;
    const first: DigestResult = await (await start(input)).result();
    expect(first).toMatchObject({ recipients: 1, sent: 1, resent: 0, failed: 0 });
    const afterFirst = await counters();
    expect({
      sent: afterFirst.sent - before.sent,
      resent: afterFirst.resent - before.resent,
      failed: afterFirst.failed - before.failed,
    }).toEqual({ sent: 1, resent: 0, failed: 0 });

    const mails = smtp.messages.filter((m) => m.to === dee);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe(`[spokeflow] Daily digest ${DAY} for ${dee}: 2 newly failing checks, 1 recovered check`);
    const runLink = (run: string) =>
      `${h.config.temporal.uiUrl}/namespaces/${h.config.temporal.namespace}/workflows?query=${encodeURIComponent(`RunId="${run}-${tag}"`)}`;
    const s3 = `s3://${h.config.minio.bronzeBucket}/${sample}`;
    const text = mailPart(mails[0]!.raw, 'text/plain')!;
    expect(text).toContain(
      'CHECKS NEWLY FAILING\n' +
        `  - ${dsE} pay_amount_range (error): 7 failing rows, at ${DAY} 09:00 UTC\n    sample ${s3}\n    ${runLink('now')}\n` +
        `  - ${dsE} pay_fk (warn): errored: Unknown column 'customer', at ${DAY} 09:00 UTC\n    ${runLink('now')}\n\n` +
        'CHECKS RECOVERED\n' +
        `  - ${dsE} pay_unique (error): passing since ${DAY} 09:00 UTC\n    ${runLink('now')}\n`,
    );
    expect(text).not.toContain('pay_not_null');
    expect(text).not.toContain('pay_late');
    const html = mailPart(mails[0]!.raw, 'text/html')!;
    expect(html).toBe(await object(digestObjectKey(period, `owner:${dee}`)));
    expect(html).toContain(`href="${runLink('now').replaceAll('&', '&amp;')}"`);
    expect(html).toContain(s3);
    expect(html).toContain('>Checks recovered</h2>');

    // A re-run of the period sends nothing: the ledger has it as sent, and the counters stay.
    const again: DigestResult = await (await start(input)).result();
    expect(again).toMatchObject({ sent: 0, alreadyDone: 1 });
    expect(smtp.messages.filter((m) => m.to === dee)).toHaveLength(1);
    expect(await counters()).toEqual(afterFirst);
  });

  it('renders an email-safe page in headless Chromium: no outside requests, a drawn sparkline, working links', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run bash infra/local/chromium.sh`);
    const html = await object(digestObjectKey(`daily:${DAY}`, `owner:${ana}`));
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 760, height: 900 } });
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.setContent(html, { waitUntil: 'load' });
      expect(requests).toEqual([]);
      const box = await page.locator('svg polyline').first().boundingBox();
      expect(box!.width).toBeGreaterThan(80);
      expect(await page.locator('h1').innerText()).toBe(`${ana} — ${DAY}`);
      expect(await page.getByRole('link', { name: 'sync run', exact: true }).getAttribute('href')).toBe(link(`sync:${dsA}`, failedRunId));
      // The card stays within a phone-to-desktop email column: 680 px and its 1 px borders.
      expect((await page.locator('body > table div').first().boundingBox())!.width).toBeLessThanOrEqual(682);
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it('sends a weekly team digest by email and webhook, each once, through a webhook outage', async () => {
    hook.failNext(1);
    const result: DigestResult = await (
      await start({ period: { kind: 'weekly', date: DAY }, audience: 'teams', scope: { team }, channels: ['email', 'webhook'] })
    ).result();
    const period = 'weekly:2025-W11';
    expect(result).toMatchObject({ period, recipients: 1, sent: 2, failed: 0 });
    const teamMail = ours().filter((m) => m.to === `${team}@teams.localhost`);
    expect(teamMail.map((m) => m.messageId)).toEqual([mid(`team:${team}`, period)]);
    expect(teamMail[0]!.subject).toBe(
      `[spokeflow] Weekly digest 2025-W11 for ${team}: 2 new anomalies, 1 failed sync, 1 stale dataset, 2 score changes`,
    );
    const posts = hook.posts.filter((p) => p.headers['idempotency-key'] === mid(`team:${team}`, period, 'webhook'));
    expect(posts).toHaveLength(1);
    const body = posts[0]!.body as { text: string; blocks: { type: string; text: { text: string } }[] };
    expect(body.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: `Weekly digest: team ${team} — 2025-W11 (2025-03-10 – 2025-03-16)` },
    });
    expect(body.blocks.map((b) => b.text.text).join('\n')).toContain(`<${link(`sync:${dsA}`, failedRunId)}|${dsA}>`);
    expect(await ledger(period)).toEqual([
      expect.objectContaining({ recipient: `team:${team}`, channel: 'email', status: 'sent' }),
      expect.objectContaining({ recipient: `team:${team}`, channel: 'webhook', status: 'sent', claims: 2 }),
    ]);
  });

  it('retries a temporary SMTP refusal and still delivers each digest once', async () => {
    const date = '2025-03-13';
    const period = `daily:${date}`;
    smtp.refuse(1);
    const result: DigestResult = await (
      await start({ period: { kind: 'daily', date }, scope: { team }, channels: ['email'], sendEmpty: true })
    ).result();
    expect(result).toMatchObject({ recipients: 3, sent: 3, resent: 0, failed: 0 });
    const counts = smtp.countsById();
    for (const o of [ana, bo, cy]) expect(counts.get(mid(`owner:${o}`, period))).toBe(1);
    const rows = await ledger(period);
    expect(rows.map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);
    expect(rows.map((r) => r.claims).sort()).toEqual([1, 1, 2]); // only the refused one was claimed again
  });

  it('continues as new between pages when told to, carrying the plan and the totals', async () => {
    const handle = await start({
      period: { kind: 'daily', date: '2025-03-18' },
      scope: { team },
      channels: ['email'],
      sendEmpty: true,
      recipientsPerActivity: 1,
      pagesPerRun: 1,
    });
    const result: DigestResult = await handle.result();
    expect(result).toEqual({
      period: 'daily:2025-03-18',
      pages: 3,
      recipients: 3,
      sent: 3,
      resent: 0,
      alreadyDone: 0,
      empty: 0,
      failed: 0,
      objects: 3,
    });
    // Visibility may lag the result a little.
    let runs: string[] = [];
    for (let tries = 0; tries < 20 && runs.length < 3; tries++) {
      if (tries) await new Promise((resolve) => setTimeout(resolve, 250));
      runs = [];
      for await (const run of h.client.workflow.list({ query: `WorkflowId = "${handle.workflowId}"` })) runs.push(run.runId);
    }
    expect(runs).toHaveLength(3);
    const counts = smtp.countsById();
    for (const o of [ana, bo, cy]) expect(counts.get(mid(`owner:${o}`, 'daily:2025-03-18'))).toBe(1);
  });

  it("fences claims: a retry takes its predecessor's claim, the predecessor then sends nothing, another run waits", async () => {
    const ledger = createDeliveryLedger(h.clients.catalog);
    const period = 'daily:2025-03-19';
    const recipient = `owner:${ana}`;
    const key = { recipient, channel: 'email' as const };
    await ledger.ensure(period, 'test', [{ ...key, messageId: mid(recipient, period) }]);
    const owner = `test|${tag}|1|`;
    expect(await ledger.claim(period, [recipient], ['email'], { owner, token: `${owner}1` })).toMatchObject([
      { status: 'claimed', claimToken: `${owner}1` },
    ]);
    expect(await ledger.claim(period, [recipient], ['email'], { owner, token: `${owner}2` })).toMatchObject([
      { status: 'claimed', claimToken: `${owner}2` },
    ]);
    await expect(ledger.markSending(period, [key], `${owner}1`)).rejects.toBeInstanceOf(ClaimLost);
    expect(await ledger.claim(period, [recipient], ['email'], { owner: 'another-run|', token: 'another-run|1' })).toMatchObject([
      { claimToken: `${owner}2` },
    ]);
    await ledger.markSending(period, [key], `${owner}2`);
    expect(await ledger.complete(period, [{ ...key, objectKey: null }], `${owner}1`)).toBe(0);
    expect(await ledger.complete(period, [{ ...key, objectKey: null }], `${owner}2`)).toBe(1);
    expect(await ledger.claim(period, [recipient], ['email'], { owner: 'another-run|', token: 'another-run|1' })).toMatchObject([
      { status: 'sent', claimToken: `${owner}2` },
    ]);
  });

  it('rejects bad input at once, naming the field', async () => {
    const handle = await start({ period: { kind: 'daily', date: DAY }, scope: { team }, channels: ['email'], recipientsPerActivity: 0 });
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(((err as WorkflowFailedError).cause as { message: string }).message).toContain('recipientsPerActivity');
  });

  /**
   * The worker process kills itself (SIGKILL: no catch, no finally, no graceful shutdown) the
   * first time a page reaches `step`; a fresh worker takes the activity over after the heartbeat
   * timeout, as it would after a machine dies at that point.
   */
  async function crashAt(step: string, date: string): Promise<{ result: DigestResult; period: string }> {
    const taskQueue = `test-digest-crash-${tag}-${step}`;
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/notifications-worker.ts', taskQueue, step, '1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SPOKEFLOW_SMTP_URL: smtp.url },
    });
    children.push(child);
    child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[worker ${child.pid}] ${d.toString()}`));
    await polling(child);
    const handle = await start({ period: { kind: 'daily', date }, scope: { team }, channels: ['email'], sendEmpty: true }, taskQueue);
    await exitOf(child);
    expect(child.signalCode).toBe('SIGKILL');
    const worker = await Worker.create({
      connection: workerConnection,
      namespace: h.config.temporal.namespace,
      taskQueue,
      plugins: [notificationsPlugin({ config: h.config, clients: h.clients })],
    });
    const result: DigestResult = await worker.runUntil(handle.result());
    return { result, period: `daily:${date}` };
  }

  it('crash after the claim, before any send: every digest sent once', async () => {
    const { result, period } = await crashAt('claimed', '2025-03-14');
    expect(result).toMatchObject({ recipients: 3, sent: 3, resent: 0, alreadyDone: 0 });
    const counts = smtp.countsById();
    for (const o of [ana, bo, cy]) expect(counts.get(mid(`owner:${o}`, period))).toBe(1);
    const rows = await ledger(period);
    expect(rows.map((r) => [r.status, r.claims, r.resends])).toEqual([
      ['sent', 2, 0],
      ['sent', 2, 0],
      ['sent', 2, 0],
    ]);
  });

  it('crash after a send, before its completion: that one digest is resent with the same Message-ID, marked, and counted', async () => {
    const { result, period } = await crashAt('sent', '2025-03-15');
    expect(result).toMatchObject({ recipients: 3, sent: 3, resent: 1 });
    const ids = [ana, bo, cy].map((o) => mid(`owner:${o}`, period));
    const received = smtp.messages.filter((m) => ids.includes(m.messageId));
    // At-least-once: 4 messages, 3 Message-IDs; the repeat is recognisable downstream.
    expect(received).toHaveLength(4);
    expect(new Set(received.map((m) => m.messageId)).size).toBe(3);
    const twice = ids.filter((id) => received.filter((m) => m.messageId === id).length === 2);
    expect(twice).toHaveLength(1);
    const copies = received.filter((m) => m.messageId === twice[0]);
    expect(copies.map((m) => m.headers.get('x-spokeflow-possible-resend'))).toEqual([undefined, 'yes']);
    expect(mailPart(copies[1]!.raw, 'text/plain')).toBe(mailPart(copies[0]!.raw, 'text/plain'));
    const rows = await ledger(period);
    expect(rows.map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);
    expect(rows.reduce((n, r) => n + Number(r.resends), 0)).toBe(1);
  });

  it('crash after a completion: nothing resent, the rest sent once', async () => {
    const { result, period } = await crashAt('completed', '2025-03-16');
    expect(result).toMatchObject({ recipients: 3, sent: 3, resent: 0 });
    const ids = [ana, bo, cy].map((o) => mid(`owner:${o}`, period));
    const received = smtp.messages.filter((m) => ids.includes(m.messageId));
    expect(received.map((m) => m.messageId).sort()).toEqual([...ids].sort());
    const rows = await ledger(period);
    expect(rows.map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);
    expect(rows.map((r) => r.claims).sort()).toEqual([1, 2, 2]); // the completed one was not claimed again
    expect(rows.reduce((n, r) => n + Number(r.resends), 0)).toBe(0);
  });
});
