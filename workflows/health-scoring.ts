import { ApplicationFailure, defineQuery, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createHealthActivities } from '../activities/quality/health.js';
import { ErrorType, parseInput } from '../common/errors.js';
import { HealthScoringInput, resolveHealthSpec, type HealthScoringProgress, type HealthScoringResult } from '../common/health.js';
import { bulk, short } from './support/activity-options.js';
import { failRun, markOutcome, tagRun } from './support/run-lifecycle.js';

type Health = ReturnType<typeof createHealthActivities>;

const { planHealth } = proxyActivities<Pick<Health, 'planHealth'>>(short);

// Scoring and publishing read and write the whole catalog's day in one go; every write is an
// upsert (or a point overwritten at the same time), so a retry simply does the step again.
const { scoreHealth, summariseTeams, publishHealthSeries } = proxyActivities<
  Pick<Health, 'scoreHealth' | 'summariseTeams' | 'publishHealthSeries'>
>(bulk({ timeout: '15 minutes', heartbeat: '1 minute', attempts: 10 }));

export const healthScoringProgressQuery = defineQuery<HealthScoringProgress>('progress');

/**
 * Score every dataset's health (0–100 from documentation, freshness, reliability and quality,
 * each with its reason) for one day: gather and score the catalog set-based, store the rows and
 * the per-team aggregates in MySQL, then the series in InfluxDB. A re-run for the same day
 * replaces that day's rows and points. Only counts and the team summary pass through here.
 */
export async function healthScoringWorkflow(raw: unknown): Promise<HealthScoringResult> {
  const input = parseInput(HealthScoringInput, raw, 'health scoring input');
  const resolved = resolveHealthSpec(input, workflowInfo().startTime.getTime());
  if ('error' in resolved) throw ApplicationFailure.nonRetryable(`invalid health scoring input: ${resolved.error}`, ErrorType.invalidInput);
  const spec = resolved;
  const progress: HealthScoringProgress = { day: spec.day, phase: 'planning', datasets: 0, scored: 0, teams: 0, points: 0 };
  setHandler(healthScoringProgressQuery, () => progress);
  tagRun({ kind: 'health-scoring', ...(spec.team ? { team: spec.team } : {}) });
  const scope = spec.team ? `team ${spec.team}` : 'all datasets';
  report(progress, scope);

  try {
    const plan = await planHealth(spec);
    progress.datasets = plan.datasets;
    progress.phase = 'scoring';
    report(progress, scope);

    const scored = await scoreHealth(spec);
    progress.scored = scored.scored;
    progress.phase = 'summarising teams';
    report(progress, scope);

    const teams = await summariseTeams(spec);
    progress.teams = teams.teams;
    progress.phase = 'publishing';
    report(progress, scope);

    const published = await publishHealthSeries(spec);
    progress.points = published.points;
    progress.phase = 'done';
    report(progress, scope, scored.averageScore);
    markOutcome('succeeded');
    return {
      day: spec.day,
      asOf: new Date(spec.asOfMs).toISOString(),
      datasets: scored.scored,
      averageScore: scored.averageScore,
      teams: teams.teams,
      worstTeams: teams.worstTeams,
      points: published.points,
    };
  } catch (err) {
    return failRun(err, {
      what: 'health scoring',
      context: { day: spec.day },
      show: () => {
        progress.phase = 'failed';
        report(progress, scope);
      },
    });
  }
}

/** The Web UI's current details: what an operator sees on the run's page while it works. */
function report(p: HealthScoringProgress, scope: string, average?: number | null): void {
  setCurrentDetails(
    `**health scoring** of ${scope} for ${p.day} — ${p.phase}\n\n` +
      `datasets ${p.scored} of ${p.datasets} scored` +
      (average !== undefined && average !== null ? ` (average ${average})` : '') +
      `; teams ${p.teams}; InfluxDB points ${p.points}`,
  );
}
