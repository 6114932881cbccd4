import { describe, expect, it } from 'vitest';
import {
  classifyCheckChanges,
  uiRunIdLink,
  type CheckChangeItem,
  type CheckResultRow,
  type DigestContent,
} from '../../activities/notify/digest-content.js';
import { digestMessageId } from '../../activities/notify/digest.js';
import { renderDigest, sparkline } from '../../activities/notify/render.js';
import { DigestInput, digestObjectKey, resolvePeriod } from '../../common/digest.js';

const at = (iso: string) => Date.parse(iso);

describe('digest periods', () => {
  it('covers yesterday by default and a given UTC day otherwise', () => {
    expect(resolvePeriod({ kind: 'daily' }, at('2025-03-01T08:00:00Z'))).toEqual({
      kind: 'daily',
      key: 'daily:2025-02-28',
      label: '2025-02-28',
      fromMs: at('2025-02-28T00:00:00Z'),
      toMs: at('2025-03-01T00:00:00Z'),
    });
  });

  it('names weeks by ISO 8601, across year ends', () => {
    const week = (date: string) => resolvePeriod({ kind: 'weekly', date }, at('2030-01-01T00:00:00Z'));
    expect(week('2021-01-03')).toMatchObject({
      key: 'weekly:2020-W53',
      fromMs: at('2020-12-28T00:00:00Z'),
      toMs: at('2021-01-04T00:00:00Z'),
    });
    expect(week('2024-12-30')).toMatchObject({ key: 'weekly:2025-W01', label: '2025-W01 (2024-12-30 – 2025-01-05)' });
    expect(week('2025-03-16')).toMatchObject({ key: 'weekly:2025-W11' }); // a Sunday ends its week
    expect(week('2025-03-17')).toMatchObject({ key: 'weekly:2025-W12' });
  });

  it('refuses a day in the future and malformed input, naming the field', () => {
    expect(resolvePeriod({ kind: 'daily', date: '2025-03-02' }, at('2025-03-01T12:00:00Z'))).toEqual({
      error: 'period.date: must not be after today (2025-03-01)',
    });
    const bad = DigestInput.safeParse({ period: { kind: 'monthly', date: '2025-02-30' }, channels: [], scope: { team: 'A' } });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => i.path.join('.')).sort()).toEqual(['channels', 'period.date', 'period.kind', 'scope.team']);
  });
});

describe('digest keys', () => {
  it('gives one object key and one Message-ID per recipient and period, the same every time', () => {
    expect(digestObjectKey('daily:2025-03-12', 'owner:ana@example.com')).toBe('digests/daily/2025-03-12/owner/ana@example.com.html');
    expect(digestObjectKey('weekly:2025-W11', 'team:growth')).toBe('digests/weekly/2025-W11/team/growth.html');
    expect(digestObjectKey('daily:2025-03-12', 'owner:a/b c')).toBe('digests/daily/2025-03-12/owner/a%2Fb%20c.html');
    const from = 'spokeflow <digests@mail.example.org>';
    const id = digestMessageId('owner:ana@example.com', 'daily:2025-03-12', 'email', from);
    expect(id).toMatch(/^<digest\.[0-9a-f]{40}@mail\.example\.org>$/);
    expect(digestMessageId('owner:ana@example.com', 'daily:2025-03-12', 'email', from)).toBe(id);
    expect(digestMessageId('owner:ana@example.com', 'daily:2025-03-13', 'email', from)).not.toBe(id);
    expect(digestMessageId('owner:bo@example.com', 'daily:2025-03-12', 'email', from)).not.toBe(id);
    expect(digestMessageId('owner:ana@example.com', 'daily:2025-03-12', 'webhook', from)).toBe(`digest.${id.slice(8, 48)}`);
  });
});

describe('digest rendering', () => {
  const content = (over: Partial<DigestContent> = {}): DigestContent => ({
    recipient: 'owner:ana@example.com',
    name: 'ana@example.com',
    audience: 'owners',
    periodKind: 'daily',
    periodLabel: '2025-03-12',
    datasets: 2,
    scoreChanges: [],
    anomalies: [],
    failedSyncs: [],
    stale: [],
    newlyFailingChecks: [],
    recoveredChecks: [],
    healthLink: 'http://ui/namespaces/default/workflows/health-scoring%3Aall',
    ...over,
  });
  const meta = { messageId: '<digest.x@example.org>', objectKey: 'digests/daily/2025-03-12/owner/ana@example.com.html' };

  it('escapes what comes from sources and operators (errors, names) in HTML and Slack text', () => {
    const r = renderDigest(
      content({
        failedSyncs: [
          {
            dataset: 'shop.orders',
            startedAtMs: at('2025-03-12T06:00:00Z'),
            error: '<img src=x onerror=alert(1)> & "quotes"',
            link: 'http://ui/a?b=1&c=2',
          },
        ],
      }),
      meta,
    );
    expect(r.html).not.toContain('<img');
    expect(r.html).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;');
    expect(r.html).toContain('href="http://ui/a?b=1&amp;c=2"');
    expect(r.text).toContain('<img src=x onerror=alert(1)> & "quotes"'); // plain text is plain
    expect(r.subject).toBe('[spokeflow] Daily digest 2025-03-12 for ana@example.com: 1 failed sync');
  });

  it('keeps long sections short and says how many more there are', () => {
    const anomalies = Array.from({ length: 30 }, (_, i) => ({
      dataset: `shop.t${i}`,
      metric: 'volume',
      series: '',
      atMs: at('2025-03-12T10:00:00Z'),
      value: 5,
      expected: 1,
      lower: 0.5,
      upper: 1.5,
      direction: 'up',
      status: 'open',
      explanation: i === 0 ? '5× the usual Wednesday 10:00 UTC volume' : null,
      link: `http://ui/${i}`,
    }));
    const r = renderDigest(content({ anomalies }), meta);
    expect(r.html.match(/scan run/g)).toHaveLength(25);
    // Each alert says what was seen, in the mail and its plain-text part; older rows have no words.
    expect(r.html).toContain('<td');
    expect(r.html.match(/5× the usual Wednesday 10:00 UTC volume/g)).toHaveLength(1);
    expect(r.text).toContain('    5× the usual Wednesday 10:00 UTC volume');
    expect(r.html).toContain('and 5 more');
    expect(r.text).toContain('  and 5 more');
    expect(r.webhook.blocks).toHaveLength(3);
  });

  it('says so when there is nothing to report', () => {
    const r = renderDigest(content(), meta);
    expect(r.subject).toBe('[spokeflow] Daily digest 2025-03-12 for ana@example.com: nothing to report');
    expect(r.text).toContain('Nothing to report');
  });

  it('draws a sparkline inside its box, a 15-point fall visibly lower than a 2-point wobble', () => {
    const ys = (svg: string) =>
      /points="([^"]+)"/
        .exec(svg)![1]!
        .split(' ')
        .map((p) => Number(p.split(',')[1]));
    const fall = ys(sparkline([85, 85, 85, 70], '#dc2626'));
    const wobble = ys(sparkline([85, 86, 84, 85], '#16a34a'));
    for (const y of [...fall, ...wobble]) {
      expect(y).toBeGreaterThanOrEqual(3);
      expect(y).toBeLessThanOrEqual(25);
    }
    expect(fall[3]! - fall[0]!).toBeGreaterThan(15);
    expect(Math.max(...wobble) - Math.min(...wobble)).toBeLessThan(5);
    expect(sparkline([], '#000')).toBe('');
  });
});

describe('checks in digests', () => {
  const from = at('2025-03-12T00:00:00Z');
  const row = (checkId: string, status: CheckResultRow['status'], atMs: number, over: Partial<CheckResultRow> = {}): CheckResultRow => ({
    dataset: 'shop.orders',
    checkId,
    severity: 'error',
    status,
    runId: `run-${checkId}-${atMs}`,
    failing: status === 'failed' ? 3 : 0,
    sampleKey: status === 'failed' ? `_checks/shop.orders/run-${checkId}/${checkId}.parquet` : null,
    details: null,
    atMs,
    withinPeriod: atMs >= from,
    ...over,
  });
  const ids = (rows: CheckResultRow[]) => rows.map((r) => r.checkId);

  it('calls a check newly failing when its last result in the period fails after a pass, or with none before', () => {
    const { newlyFailing, recovered } = classifyCheckChanges([
      row('was_passing', 'passed', from - 5_000),
      row('was_passing', 'failed', from + 5_000),
      row('never_run_before', 'errored', from + 1_000, { severity: 'warn' }),
      row('still_failing', 'failed', from - 5_000),
      row('still_failing', 'failed', from + 5_000),
      row('failed_then_fixed', 'passed', from - 5_000),
      row('failed_then_fixed', 'failed', from + 1_000),
      row('failed_then_fixed', 'passed', from + 9_000),
      row('not_run_in_period', 'failed', from - 5_000),
    ]);
    // error severity first, then by name; the run of each is the newest one in the period.
    expect(ids(newlyFailing)).toEqual(['was_passing', 'never_run_before']);
    expect(newlyFailing[0]!.atMs).toBe(from + 5_000);
    expect(ids(recovered)).toEqual([]);
  });

  it('calls a check recovered when it passes in the period after failing or erroring before it', () => {
    const { newlyFailing, recovered } = classifyCheckChanges([
      row('fk', 'failed', from - 9_000),
      row('fk', 'passed', from + 2_000),
      row('sql', 'errored', from - 1_000),
      row('sql', 'passed', from + 2_000),
      row('fresh', 'passed', from + 2_000),
      row('broken_again', 'failed', from - 9_000),
      row('broken_again', 'passed', from + 1_000),
      row('broken_again', 'failed', from + 2_000),
    ]);
    expect(ids(recovered)).toEqual(['fk', 'sql']);
    expect(ids(newlyFailing)).toEqual([]);
  });

  it('lists newly failing checks with their sample and run link, and recovered ones, in HTML, text and Slack', () => {
    const item = (checkId: string, over: Partial<CheckChangeItem>): CheckChangeItem => ({
      dataset: 'shop.orders',
      checkId,
      severity: 'error',
      status: 'failed',
      failing: 3,
      details: null,
      atMs: at('2025-03-12T10:00:00Z'),
      sample: null,
      link: uiRunIdLink({ uiUrl: 'http://ui', namespace: 'default' }, `run-${checkId}`),
      ...over,
    });
    const r = renderDigest(
      {
        recipient: 'owner:ana@example.com',
        name: 'ana@example.com',
        audience: 'owners',
        periodKind: 'daily',
        periodLabel: '2025-03-12',
        datasets: 1,
        scoreChanges: [],
        anomalies: [],
        failedSyncs: [],
        stale: [],
        newlyFailingChecks: [
          item('orders_customer_fk', { sample: 's3://bronze/_checks/shop.orders/r1/orders_customer_fk.parquet' }),
          item('orders_sql', { severity: 'warn', status: 'errored', failing: null, details: 'Unknown column <x>' }),
        ],
        recoveredChecks: [item('orders_unique', { status: 'passed', failing: 0 })],
        healthLink: 'http://ui/h',
      },
      { messageId: '<digest.x@example.org>', objectKey: 'k' },
    );
    expect(r.subject).toBe('[spokeflow] Daily digest 2025-03-12 for ana@example.com: 2 newly failing checks, 1 recovered check');
    const link = 'http://ui/namespaces/default/workflows?query=RunId%3D%22run-orders_customer_fk%22';
    expect(r.text).toContain(
      `CHECKS NEWLY FAILING\n  - shop.orders orders_customer_fk (error): 3 failing rows, at 2025-03-12 10:00 UTC\n` +
        `    sample s3://bronze/_checks/shop.orders/r1/orders_customer_fk.parquet\n    ${link}\n` +
        `  - shop.orders orders_sql (warn): errored: Unknown column <x>, at 2025-03-12 10:00 UTC\n`,
    );
    expect(r.text).toContain(
      'CHECKS RECOVERED\n  - shop.orders orders_unique (error): passing since 2025-03-12 10:00 UTC\n' +
        '    http://ui/namespaces/default/workflows?query=RunId%3D%22run-orders_unique%22\n',
    );
    expect(r.html).toContain(`href="${link}"`);
    expect(r.html).toContain('s3://bronze/_checks/shop.orders/r1/orders_customer_fk.parquet');
    expect(r.html).toContain('errored: Unknown column &lt;x&gt;');
    expect(r.html).toContain('>Checks newly failing</h2>');
    expect(r.html).toContain('>Checks recovered</h2>');
    expect(JSON.stringify(r.webhook.blocks)).toContain(`<${link}|shop.orders orders_customer_fk>`);
  });
});
