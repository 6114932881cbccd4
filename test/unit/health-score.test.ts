import { describe, expect, it } from 'vitest';
import { checksScore, scoreDataset, type CheckFact, type DatasetFacts } from '../../activities/quality/health-score.js';
import { DEFAULT_HEALTH_WEIGHTS, HealthScoringInput, resolveHealthSpec } from '../../common/health.js';
import { describeIssues } from '../../common/errors.js';

const HOUR = 3_600_000;
const NOW = Date.UTC(2025, 5, 2, 0, 0, 0);

const healthy: DatasetFacts = {
  dataset: 'shop.orders',
  team: 'shop',
  owner: 'ana@example.com',
  description: 'Every order placed in the web shop, one row per order, updated as it ships.',
  tagCount: 2,
  slaHours: 24,
  lastSuccessMs: NOW - 3 * HOUR,
  runs7d: 7,
  failed7d: 0,
  runs30d: 30,
  failed30d: 0,
  openAnomalies: 0,
  confirmedAnomalies: 0,
  checks: [],
};

describe('health score of one dataset', () => {
  it('gives a well kept dataset 100 with a reason for every component', () => {
    expect(scoreDataset(healthy, DEFAULT_HEALTH_WEIGHTS, NOW)).toEqual({
      dataset: 'shop.orders',
      team: 'shop',
      score: 100,
      components: {
        documentation: { score: 100, reason: 'description, owner and tags present' },
        freshness: { score: 100, reason: 'last successful sync 3 h ago, within SLA 24 h' },
        reliability: { score: 100, reason: 'no failed runs in 30 days (30 runs)' },
        quality: { score: 100, reason: 'no open anomalies' },
      },
      failingChecks: null,
    });
  });

  it('names what is missing in the documentation', () => {
    const h = scoreDataset({ ...healthy, description: '', owner: 'unknown', tagCount: 0 }, DEFAULT_HEALTH_WEIGHTS, NOW);
    expect(h.components.documentation).toEqual({ score: 0, reason: 'no description; no owner; no tags' });
    const short = scoreDataset({ ...healthy, description: 'orders table' }, DEFAULT_HEALTH_WEIGHTS, NOW);
    expect(short.components.documentation).toEqual({ score: 70, reason: 'description too short (2 words)' });
  });

  it('falls linearly from the SLA to zero at twice the SLA, and is neutral without an SLA', () => {
    const late = scoreDataset({ ...healthy, lastSuccessMs: NOW - 30 * HOUR }, DEFAULT_HEALTH_WEIGHTS, NOW);
    expect(late.components.freshness).toEqual({ score: 75, reason: 'last successful sync 30 h ago, SLA 24 h' });
    const dead = scoreDataset({ ...healthy, lastSuccessMs: NOW - 72 * HOUR }, DEFAULT_HEALTH_WEIGHTS, NOW);
    expect(dead.components.freshness).toEqual({ score: 0, reason: 'last successful sync 72 h ago, SLA 24 h' });
    const never = scoreDataset({ ...healthy, lastSuccessMs: null }, DEFAULT_HEALTH_WEIGHTS, NOW);
    expect(never.components.freshness).toEqual({ score: 0, reason: 'no successful sync yet, SLA 24 h' });
    const noSla = scoreDataset({ ...healthy, slaHours: null, lastSuccessMs: null }, DEFAULT_HEALTH_WEIGHTS, NOW);
    expect(noSla.components.freshness).toEqual({ score: 100, reason: 'no freshness SLA declared' });
  });

  it('weighs recent failures more than older ones', () => {
    const h = scoreDataset({ ...healthy, runs7d: 10, failed7d: 3, runs30d: 40, failed30d: 5 }, DEFAULT_HEALTH_WEIGHTS, NOW);
    // 100 × (1 − (0.6 × 3/10 + 0.4 × 5/40)) = 77
    expect(h.components.reliability).toEqual({ score: 77, reason: '3 failed runs in 7 days (of 10), 5 in 30 days (of 40)' });
    const idle = scoreDataset({ ...healthy, runs7d: 0, failed7d: 0, runs30d: 0, failed30d: 0 }, DEFAULT_HEALTH_WEIGHTS, NOW);
    expect(idle.components.reliability).toEqual({ score: 100, reason: 'no sync runs in 30 days' });
  });

  it('takes points off for each unresolved anomaly, more for confirmed ones', () => {
    const h = scoreDataset({ ...healthy, openAnomalies: 2, confirmedAnomalies: 1 }, DEFAULT_HEALTH_WEIGHTS, NOW);
    expect(h.components.quality).toEqual({ score: 60, reason: '3 open anomalies (1 confirmed)' });
  });

  it('combines the components by their weights', () => {
    const facts = { ...healthy, description: '', lastSuccessMs: NOW - 30 * HOUR, openAnomalies: 2, confirmedAnomalies: 1 };
    // documentation 50, freshness 75, reliability 100, quality 60
    expect(scoreDataset(facts, DEFAULT_HEALTH_WEIGHTS, NOW).score).toBe(0.25 * 50 + 0.3 * 75 + 0.25 * 100 + 0.2 * 60);
    expect(scoreDataset(facts, { documentation: 0, freshness: 1, reliability: 0, quality: 1, checks: 0 }, NOW).score).toBe(67.5);
  });
});

describe('the checks component', () => {
  const check = (checkId: string, severity: CheckFact['severity'], status: CheckFact['status']): CheckFact => ({
    checkId,
    severity,
    status,
  });
  const nine = [
    check('orders_customer_fk', 'error', 'failed'),
    check('orders_status_values', 'warn', 'failed'),
    ...['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id) => check(`orders_${id}`, 'error', 'passed')),
  ];

  it('takes 25 points off per failing error check and 10 per failing warn check, naming them, errors first', () => {
    expect(checksScore({ checks: nine })).toEqual({
      score: 65,
      failing: 2,
      reason: '2 of 9 checks failing: orders_customer_fk, orders_status_values',
    });
  });

  it('counts an errored check as failing and says so', () => {
    const checks = [check('orders_sql', 'error', 'errored'), check('orders_unique', 'error', 'passed')];
    expect(checksScore({ checks })).toEqual({ score: 75, failing: 1, reason: '1 of 2 checks failing: orders_sql (errored)' });
  });

  it('floors at 0 and names at most five, counting the rest', () => {
    const checks = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id) => check(id, 'error', 'failed'));
    expect(checksScore({ checks })).toEqual({ score: 0, failing: 7, reason: '7 of 7 checks failing: a, b, c, d, e and 2 more' });
  });

  it('gives 100 when every check passes', () => {
    expect(checksScore({ checks: [check('x', 'warn', 'passed'), check('y', 'error', 'passed')] })).toEqual({
      score: 100,
      failing: 0,
      reason: 'all 2 checks passing',
    });
  });

  it('is absent without checks, so the other weights share its part and the score is as it was', () => {
    const facts = { ...healthy, description: '', lastSuccessMs: NOW - 30 * HOUR, openAnomalies: 2, confirmedAnomalies: 1 };
    const without = scoreDataset(facts, DEFAULT_HEALTH_WEIGHTS, NOW);
    expect(without.components).not.toHaveProperty('checks');
    expect(without.failingChecks).toBeNull();
    // documentation 50, freshness 75, reliability 100, quality 60, over their own weights (which sum to 1)
    expect(without.score).toBe(72);
  });

  it('weighs 0.25 beside the others when present', () => {
    const h = scoreDataset({ ...healthy, checks: nine }, DEFAULT_HEALTH_WEIGHTS, NOW);
    expect(h.components.checks).toEqual({ score: 65, reason: '2 of 9 checks failing: orders_customer_fk, orders_status_values' });
    expect(h.failingChecks).toBe(2);
    // Every other component is 100: (1.0 × 100 + 0.25 × 65) / 1.25
    expect(h.score).toBe(93);
    expect(scoreDataset({ ...healthy, checks: nine }, { ...DEFAULT_HEALTH_WEIGHTS, checks: 0 }, NOW).score).toBe(100);
  });

  it('refuses weights where only checks weighs, naming the field', () => {
    const result = HealthScoringInput.safeParse({ weights: { documentation: 0, freshness: 0, reliability: 0, quality: 0, checks: 1 } });
    expect(result.success).toBe(false);
    expect(describeIssues(result.error!)).toContain('weights');
  });
});

describe('health scoring input', () => {
  it('fills in default weights and scores today as of now, a past day as of its end', () => {
    const input = HealthScoringInput.parse({ weights: { quality: 0.5 } });
    expect(input.weights).toEqual({ ...DEFAULT_HEALTH_WEIGHTS, quality: 0.5 });
    expect(resolveHealthSpec(input, NOW + 5 * HOUR)).toMatchObject({ day: '2025-06-02', asOfMs: NOW + 5 * HOUR });
    expect(resolveHealthSpec({ ...input, day: '2025-05-30' }, NOW)).toMatchObject({ day: '2025-05-30', asOfMs: Date.UTC(2025, 4, 31) });
    expect(resolveHealthSpec({ ...input, day: '2025-06-03' }, NOW)).toEqual({ error: 'day: must not be after today (2025-06-02)' });
  });

  it('rejects bad input naming the field', () => {
    const result = HealthScoringInput.safeParse({ day: '2025-02-30', weights: { freshness: -1 } });
    expect(result.success).toBe(false);
    const message = describeIssues(result.error!);
    expect(message).toContain('day:');
    expect(message).toContain('weights.freshness:');
  });
});
