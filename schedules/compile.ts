import type {
  ScheduleDescription,
  ScheduleOptions,
  ScheduleOptionsStartWorkflowAction,
  ScheduleSpec,
  ScheduleUpdateOptions,
} from '@temporalio/client';
import { TypedSearchAttributes, type SearchAttributePair, type Workflow } from '@temporalio/common';
import { SearchAttr } from '../common/search-attributes.js';
import { formatDuration } from '../common/time.js';
import type { ScheduleDeclaration } from './schema.js';

/** Schedule memo marking a schedule as spokeflow's: apply only ever updates or deletes those. */
export const MANAGED_MEMO_KEY = 'spokeflow-managed';
/**
 * Action memo holding the declaration as last applied. Temporal refuses memo updates on
 * schedules, so it lives on the action (which every update rewrites) and each run carries it.
 */
export const DECLARATION_MEMO_KEY = 'spokeflow-declaration';

/** The fields apply compares, named as in a declaration. */
export const SCHEDULE_FIELDS = [
  'workflowType',
  'taskQueue',
  'team',
  'input',
  'spec.every',
  'spec.offset',
  'spec.cron',
  'spec.timezone',
  'spec.jitter',
  'overlap',
  'catchupWindow',
  'pauseOnFailure',
  'paused',
  'note',
  'summary',
] as const;
export type ScheduleField = (typeof SCHEDULE_FIELDS)[number];

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
/** A declaration reduced to comparable JSON: durations as their shortest text, objects with sorted keys. */
export type ScheduleRecord = Record<ScheduleField, Json>;

/** What `describe()` returns that apply reads. */
export type LiveSchedule = Pick<ScheduleDescription, 'spec' | 'action' | 'policies'>;

export function scheduleIdOf(prefix: string, declaration: Pick<ScheduleDeclaration, 'id'>): string {
  return `${prefix}${declaration.id}`;
}

export function recordOf(d: ScheduleDeclaration): ScheduleRecord {
  const interval = d.spec.every !== undefined;
  return {
    workflowType: d.workflowType,
    taskQueue: d.taskQueue,
    team: d.team,
    input: canonical(d.input),
    'spec.every': interval ? formatDuration(d.spec.every!) : null,
    'spec.offset': interval ? formatDuration(d.spec.offset ?? 0) : null,
    'spec.cron': d.spec.cron ?? [],
    'spec.timezone': d.spec.timezone,
    'spec.jitter': formatDuration(d.spec.jitter),
    overlap: d.overlap,
    catchupWindow: formatDuration(d.catchupWindow),
    pauseOnFailure: d.pauseOnFailure,
    paused: d.paused,
    note: d.note ?? null,
    summary: d.summary,
  };
}

/**
 * The same record read back from Temporal, for the fields Temporal holds as declared. Paused and
 * note are left out: pausing is an operator's call, and apply only changes it when the
 * declaration does.
 */
export function liveRecordOf(live: LiveSchedule): Partial<ScheduleRecord> {
  const { spec, action, policies } = live;
  const intervals = spec.intervals ?? [];
  return {
    workflowType: action.workflowType,
    taskQueue: action.taskQueue,
    team: searchAttribute(action.typedSearchAttributes, SearchAttr.team.name) ?? null,
    input: canonical(action.args?.length === 1 ? action.args[0] : action.args),
    'spec.every': intervals.length ? intervals.map((i) => formatDuration(i.every)).join(', ') : null,
    'spec.offset': intervals.length ? intervals.map((i) => formatDuration(i.offset ?? 0)).join(', ') : null,
    'spec.cron': (spec.calendars ?? []).map((c) => c.comment || '(a calendar spec)'),
    'spec.timezone': spec.timezone || 'UTC',
    'spec.jitter': formatDuration(spec.jitter ?? 0),
    overlap: policies.overlap ?? 'SKIP',
    catchupWindow: formatDuration(policies.catchupWindow),
    pauseOnFailure: policies.pauseOnFailure,
    summary: action.staticSummary ?? '',
  };
}

/**
 * Fields to update: those whose declaration changed since the last apply (the record in the
 * action memo), plus those someone changed on the server since (drift from the live schedule).
 */
export function changedFields(desired: ScheduleRecord, applied: unknown, live: Partial<ScheduleRecord>): ScheduleField[] {
  const previous = (isObject(applied) ? applied : {}) as Partial<Record<string, unknown>>;
  return SCHEDULE_FIELDS.filter((field) => !same(previous[field], desired[field]) || (field in live && !same(live[field], desired[field])));
}

export function appliedRecordOf(live: LiveSchedule): unknown {
  return live.action.memo?.[DECLARATION_MEMO_KEY];
}

export function createOptionsOf(d: ScheduleDeclaration, scheduleId: string): ScheduleOptions<ScheduleOptionsStartWorkflowAction<Workflow>> {
  return {
    scheduleId,
    spec: specOf(d),
    action: actionOf(d, scheduleId),
    policies: policiesOf(d),
    memo: { [MANAGED_MEMO_KEY]: true },
    typedSearchAttributes: searchAttributesOf(d),
    state: { paused: d.paused, ...(d.note ? { note: d.note } : {}) },
  };
}

export function updateOptionsOf(
  d: ScheduleDeclaration,
  scheduleId: string,
  previous: Pick<ScheduleDescription, 'state'>,
  changes: readonly ScheduleField[],
): ScheduleUpdateOptions<ScheduleOptionsStartWorkflowAction<Workflow>> {
  // An operator's pause or unpause stands until the declaration itself changes its mind.
  const pausedChanged = changes.includes('paused');
  const noteChanged = pausedChanged || (d.paused && changes.includes('note'));
  return {
    spec: specOf(d),
    action: actionOf(d, scheduleId),
    policies: policiesOf(d),
    typedSearchAttributes: searchAttributesOf(d),
    state: {
      paused: pausedChanged ? d.paused : previous.state.paused,
      note: noteChanged ? (d.note ?? '') : previous.state.note,
      remainingActions: previous.state.remainingActions,
    },
  };
}

function specOf(d: ScheduleDeclaration): ScheduleSpec {
  return {
    intervals: d.spec.every !== undefined ? [{ every: d.spec.every, offset: d.spec.offset ?? 0 }] : [],
    // Temporal keeps cron only as compiled calendars: the comment keeps the declared text, for
    // apply to compare and for operators to read.
    cronExpressions: (d.spec.cron ?? []).map((cron) => `${cron} # ${cron}`),
    timezone: d.spec.timezone,
    jitter: d.spec.jitter,
  };
}

function actionOf(d: ScheduleDeclaration, scheduleId: string): ScheduleOptionsStartWorkflowAction<Workflow> {
  return {
    type: 'startWorkflow',
    workflowType: d.workflowType,
    taskQueue: d.taskQueue,
    workflowId: scheduleId, // Temporal appends each run's scheduled time
    args: [d.input],
    staticSummary: d.summary,
    // Set at start, so a run is found by dataset and team even if it fails before it plans.
    typedSearchAttributes: searchAttributesOf(d),
    memo: { [DECLARATION_MEMO_KEY]: recordOf(d) },
  };
}

function policiesOf(d: ScheduleDeclaration) {
  return { overlap: d.overlap, catchupWindow: d.catchupWindow, pauseOnFailure: d.pauseOnFailure };
}

export function searchAttributesOf(d: ScheduleDeclaration): SearchAttributePair[] {
  return [
    ...(d.dataset ? [{ key: SearchAttr.dataset, value: d.dataset }] : []),
    { key: SearchAttr.team, value: d.team },
    { key: SearchAttr.kind, value: d.kind },
  ];
}

function searchAttribute(attributes: SearchAttributePair[] | TypedSearchAttributes | undefined, name: string): string | undefined {
  const pairs = attributes instanceof TypedSearchAttributes ? attributes.getAll() : (attributes ?? []);
  const value = pairs.find((pair) => pair.key.name === name)?.value;
  return typeof value === 'string' ? value : undefined;
}

/** JSON with object keys sorted and undefined dropped, so equal values compare equal. */
export function canonical(value: unknown): Json {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value.map(canonical);
  if (isObject(value)) {
    return Object.fromEntries(
      Object.keys(value)
        .filter((key) => value[key] !== undefined)
        .sort()
        .map((key) => [key, canonical(value[key])]),
    );
  }
  return value as Json;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
