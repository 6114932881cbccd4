import { z } from 'zod';
import { TeamSlug } from './dataset.js';
import { DAY_MS, dayStartMs, IsoDay, utcDay } from './time.js';

/**
 * How much each component counts towards a dataset's score, normalised by the sum of the
 * components a dataset has: `checks` is absent for a dataset that declares none (or has no
 * result yet), so its weight goes to the others and such a dataset scores as it did before checks.
 */
export const DEFAULT_HEALTH_WEIGHTS = { documentation: 0.25, freshness: 0.3, reliability: 0.25, quality: 0.2, checks: 0.25 } as const;
export type HealthComponentName = keyof typeof DEFAULT_HEALTH_WEIGHTS;
export const HEALTH_COMPONENTS = Object.keys(DEFAULT_HEALTH_WEIGHTS) as HealthComponentName[];
/** Components only some datasets have; every other one is scored for every dataset. */
export const OPTIONAL_HEALTH_COMPONENTS = ['checks'] as const satisfies readonly HealthComponentName[];
const isOptional = (c: HealthComponentName): boolean => (OPTIONAL_HEALTH_COMPONENTS as readonly string[]).includes(c);

const Weight = z.number().min(0).max(100);
const weightShape = Object.fromEntries(HEALTH_COMPONENTS.map((c) => [c, Weight.default(DEFAULT_HEALTH_WEIGHTS[c])])) as {
  [C in HealthComponentName]: z.ZodDefault<z.ZodNumber>;
};
export const HealthScoringInput = z
  .object({
    day: IsoDay.optional().describe('the UTC day scored (its rows are replaced by a re-run); today by default'),
    team: TeamSlug.optional().describe("score only this team's datasets"),
    weights: z
      .object(weightShape)
      .strict()
      .refine(
        (w) => HEALTH_COMPONENTS.some((c) => !isOptional(c) && w[c] > 0),
        `at least one of ${HEALTH_COMPONENTS.filter((c) => !isOptional(c)).join(', ')} must weigh above 0 (checks is absent for datasets without checks)`,
      )
      .default({ ...DEFAULT_HEALTH_WEIGHTS })
      .describe('relative weight of each component; left-out ones take the defaults'),
  })
  .strict();
export type HealthScoringInput = z.output<typeof HealthScoringInput>;
export type HealthWeights = HealthScoringInput['weights'];

/** What one run scores: a day, and the instant its facts are read at (the day's end, or now for today). */
export interface HealthSpec {
  day: string;
  /** Epoch ms; runs and anomalies after it do not count. */
  asOfMs: number;
  team?: string;
  weights: HealthWeights;
}

/** The day (today by default) and the instant it is scored at: the end of a past day, else now. */
export function resolveHealthSpec(input: HealthScoringInput, nowMs: number): HealthSpec | { error: string } {
  const today = utcDay(nowMs);
  const day = input.day ?? today;
  if (day > today) return { error: `day: must not be after today (${today})` };
  return { day, asOfMs: Math.min(nowMs, dayStartMs(day) + DAY_MS), weights: input.weights, ...(input.team ? { team: input.team } : {}) };
}

export interface HealthPlan {
  spec: HealthSpec;
  datasets: number;
  teams: number;
}

export interface TeamHealthSummary {
  team: string;
  score: number;
  datasets: number;
  worstDataset: string;
  worstScore: number;
}

export interface HealthScoringResult {
  day: string;
  asOf: string;
  datasets: number;
  averageScore: number | null;
  teams: number;
  /** The lowest-scoring teams first, at most 20. */
  worstTeams: TeamHealthSummary[];
  points: number;
}

export interface HealthScoringProgress {
  day: string;
  phase: 'planning' | 'scoring' | 'summarising teams' | 'publishing' | 'done' | 'failed';
  datasets: number;
  scored: number;
  teams: number;
  points: number;
}
