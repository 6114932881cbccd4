import { z } from 'zod';
import { TeamSlug } from '../common/dataset.js';
import { describeIssues } from '../common/errors.js';
import { durationMs } from '../common/time.js';
import { TaskQueue } from '../common/task-queues.js';
import { OVERLAP_POLICIES, SCHEDULABLE_WORKFLOW_TYPES, schedulableWorkflow } from '../common/workflows.js';

function duration(min: { ms: number; text: string } = { ms: 0, text: '0s' }) {
  return z
    .string()
    .transform((text, ctx) => {
      const ms = durationMs(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: 'must be a duration like 15m, 1h30m, 45s or 1d' });
        return z.NEVER;
      }
      return ms;
    })
    .refine((ms) => ms >= min.ms, `must be at least ${min.text}`);
}

const CRON_SHORTHANDS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly']);

/** Temporal's cron dialect without its extras: the time zone and intervals have fields of their own. */
const CronExpression = z
  .string()
  .transform((text) => text.trim().split(/\s+/).join(' '))
  .refine(
    (text) => CRON_SHORTHANDS.has(text) || /^[0-9A-Za-z*/,?-]+( [0-9A-Za-z*/,?-]+){4,6}$/.test(text),
    'must be a cron expression of 5 to 7 fields (like `0 3 * * MON-FRI`) or @hourly, @daily, @weekly, @monthly, @yearly; ' +
      'put the time zone in spec.timezone and intervals in spec.every',
  );

function isTimeZone(name: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export const ScheduleSpec = z
  .object({
    every: duration({ ms: 1_000, text: '1s' }).optional().describe('interval between runs, counted from the Unix epoch in UTC, like 15m'),
    offset: duration().optional().describe('shift of the interval, like 2m for xx:02, xx:17, …; only with every'),
    cron: z.array(CronExpression).min(1).optional().describe('cron expressions, in spec.timezone; instead of every'),
    timezone: z
      .string()
      .refine(isTimeZone, 'must be an IANA time zone name like UTC or Europe/Paris')
      .default('UTC')
      .describe('IANA time zone of the cron expressions'),
    jitter: duration().default(0).describe('each run starts up to this much later, at random'),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if ((spec.every === undefined) === (spec.cron === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of every and cron', path: ['every'] });
    }
    if (spec.offset !== undefined && spec.every === undefined) {
      ctx.addIssue({ code: 'custom', message: 'only goes with every', path: ['offset'] });
    } else if (spec.offset !== undefined && spec.every !== undefined && spec.offset >= spec.every) {
      ctx.addIssue({ code: 'custom', message: 'must be shorter than every', path: ['offset'] });
    }
  });

export const ScheduleDeclaration = z
  .object({
    id: z
      .string()
      .regex(/^[a-z][a-z0-9._:-]{0,119}$/, 'must be a slug of lower-case letters, digits and . _ : - (like sync:shop.orders)')
      .describe('unique name of the schedule; the Temporal schedule id is the apply prefix followed by it'),
    workflowType: z
      .string()
      .refine((type) => schedulableWorkflow(type) !== undefined, `must be one of ${SCHEDULABLE_WORKFLOW_TYPES.join(', ')}`)
      .describe('the workflow each run starts'),
    team: TeamSlug.describe('owning team (SpokeflowTeam)'),
    taskQueue: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, 'must be a task queue name of letters, digits and . _ : -')
      .optional()
      .describe("defaults to the task queue of the workflow's domain"),
    input: z.unknown().optional().describe("the workflow's input, checked against the workflow's own input schema"),
    spec: ScheduleSpec,
    overlap: z.enum(OVERLAP_POLICIES).optional().describe('what a run due while the previous one still runs does; defaults per workflow'),
    catchupWindow: duration({ ms: 10_000, text: '10s' })
      .default(3_600_000)
      .describe('after an outage, runs missed by less than this still start (Temporal would default to a year)'),
    pauseOnFailure: z.boolean().default(false).describe('pause the schedule when a run fails'),
    paused: z.boolean().default(false).describe('created or set paused; an operator may still unpause it'),
    note: z.string().min(1).max(1000).optional().describe('why the schedule is paused; required with paused'),
    summary: z.string().min(1).max(400).optional().describe('one line on each run in the Web UI; defaults to what the workflow does'),
  })
  .strict()
  .superRefine((declaration, ctx) => {
    const workflow = typeof declaration.workflowType === 'string' ? schedulableWorkflow(declaration.workflowType) : undefined;
    const input = workflow?.input.safeParse(declaration.input);
    for (const issue of input?.error?.issues ?? []) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: ['input', ...issue.path] });
    }
    if (declaration.paused && !declaration.note) {
      ctx.addIssue({ code: 'custom', message: 'say why the schedule is paused', path: ['note'] });
    }
  })
  .transform((declaration) => {
    const workflow = schedulableWorkflow(declaration.workflowType)!;
    return {
      ...declaration,
      taskQueue: declaration.taskQueue ?? TaskQueue[workflow.domain],
      overlap: declaration.overlap ?? workflow.overlap,
      summary: declaration.summary ?? workflow.summaryOf(declaration.input),
      kind: workflow.kind,
      dataset: workflow.datasetOf(declaration.input),
    };
  });

/** A declaration as a team writes it (durations as text, defaults left out). */
export type ScheduleDeclarationInput = z.input<typeof ScheduleDeclaration>;
/** A validated declaration with every default filled in and durations in milliseconds. */
export type ScheduleDeclaration = z.output<typeof ScheduleDeclaration>;

export class ScheduleDeclarationError extends Error {
  override name = 'ScheduleDeclarationError';
}

/**
 * Validates every declaration before anything is applied: one bad declaration stops the whole
 * apply, with each problem named by schedule and field (`sync:x: input.dataset: must be …`).
 */
export function parseScheduleDeclarations(raw: readonly unknown[]): ScheduleDeclaration[] {
  const problems: string[] = [];
  const parsed: ScheduleDeclaration[] = [];
  raw.forEach((candidate, index) => {
    const result = ScheduleDeclaration.safeParse(candidate);
    if (result.success) parsed.push(result.data);
    else problems.push(`${labelOf(candidate, index)}: ${describeIssues(result.error)}`);
  });
  const ids = parsed.map((d) => d.id);
  for (const id of new Set(ids.filter((id, i) => ids.indexOf(id) !== i))) problems.push(`${id}: declared twice`);
  if (problems.length) throw new ScheduleDeclarationError(`invalid schedule declarations:\n  ${problems.join('\n  ')}`);
  return parsed;
}

function labelOf(candidate: unknown, index: number): string {
  const id = (candidate as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? `schedule ${id}` : `schedule #${index + 1}`;
}
