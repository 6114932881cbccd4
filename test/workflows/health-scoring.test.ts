import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { HealthActivities } from '../../activities/quality/health.js';
import type { HealthScoringProgress, HealthScoringResult, HealthSpec } from '../../common/health.js';
import { failureOf, gate, eventually, searchAttributesOf, useStubWorker } from './support/environment.js';

type Stubs = Pick<HealthActivities, 'planHealth' | 'scoreHealth' | 'summariseTeams' | 'publishHealthSeries'>;

const worst = { team: 'commerce', score: 61, datasets: 4, worstDataset: 'shop.orders', worstScore: 40 };
function stubs(over: Partial<Stubs> = {}): Stubs {
  return {
    planHealth: async (spec) => ({ spec, datasets: 12, teams: 3 }),
    scoreHealth: async () => ({ scored: 12, averageScore: 74.5 }),
    summariseTeams: async () => ({ teams: 3, worstTeams: [worst] }),
    publishHealthSeries: async () => ({ points: 15 }),
    ...over,
  };
}

describe('healthScoringWorkflow with stub activities', () => {
  const t = useStubWorker(['planHealth', 'scoreHealth', 'summariseTeams', 'publishHealthSeries'] satisfies (keyof Stubs)[]);
  const start = (input: object) =>
    t.client.workflow.start('healthScoringWorkflow', {
      taskQueue: t.taskQueue,
      workflowId: t.workflowId('health-scoring:test'),
      args: [input],
    });

  it('plans, scores, summarises teams and publishes the series for one day, in that order', async () => {
    const rec = t.use(stubs());
    const handle = await start({ day: '2025-01-30', team: 'commerce', weights: { documentation: 1 } });
    const result = (await handle.result()) as HealthScoringResult;

    expect(rec.names()).toEqual(['planHealth', 'scoreHealth', 'summariseTeams', 'publishHealthSeries']);
    // A past day is scored as of its end; every step works from the same spec.
    const spec: HealthSpec = {
      day: '2025-01-30',
      asOfMs: Date.parse('2025-01-31T00:00:00Z'),
      team: 'commerce',
      weights: { documentation: 1, freshness: 0.3, reliability: 0.25, quality: 0.2, checks: 0.25 },
    };
    for (const [arg] of rec.calls.map((c) => c.args)) expect(arg).toEqual(spec);
    expect(result).toEqual({
      day: '2025-01-30',
      asOf: '2025-01-31T00:00:00.000Z',
      datasets: 12,
      averageScore: 74.5,
      teams: 3,
      worstTeams: [worst],
      points: 15,
    });
    expect(await handle.query<HealthScoringProgress>('progress')).toEqual({
      day: '2025-01-30',
      phase: 'done',
      datasets: 12,
      scored: 12,
      teams: 3,
      points: 15,
    });
    expect(await searchAttributesOf(handle)).toEqual({ kind: 'health-scoring', team: 'commerce', outcome: 'succeeded' });
  });

  it('reports the phase it is in while it works', async () => {
    const scoring = gate();
    t.use(stubs({ scoreHealth: async () => (await scoring.opened, { scored: 12, averageScore: 70 }) }));
    const handle = await start({});
    const during = await eventually(
      () => handle.query<HealthScoringProgress>('progress'),
      (p) => p.phase === 'scoring',
      'scoring',
    );
    expect(during).toMatchObject({ datasets: 12, scored: 0, teams: 0, points: 0 });
    scoring.open();
    await handle.result();
  });

  it("fails with the step's own error and marks the run failed", async () => {
    const rec = t.use(
      stubs({
        summariseTeams: async () => Promise.reject(ApplicationFailure.nonRetryable('health_scores has no rows for 2025-01-30', 'NoScores')),
      }),
    );
    const handle = await start({ day: '2025-01-30' });
    const failure = await failureOf(handle.result());
    expect([failure.type, failure.message]).toEqual(['NoScores', 'NoScores: health_scores has no rows for 2025-01-30']);
    expect(rec.names()).toEqual(['planHealth', 'scoreHealth', 'summariseTeams']); // nothing published
    expect(await handle.query<HealthScoringProgress>('progress')).toMatchObject({ phase: 'failed', scored: 12 });
    expect(await searchAttributesOf(handle)).toEqual({ kind: 'health-scoring', outcome: 'failed' });
  });

  it('fails at once on a day after today or a bad team, naming the field', async () => {
    const rec = t.use(stubs());
    const future = await failureOf((await start({ day: '2999-01-01' })).result());
    expect(future.type).toBe('InvalidInput');
    expect(future.message).toMatch(/^invalid health scoring input: day: must not be after today/);
    const team = await failureOf((await start({ team: 'Not A Slug' })).result());
    expect(team.type).toBe('InvalidInput');
    expect(team.message).toContain('team: ');
    expect(rec.calls).toEqual([]);
  });
});
