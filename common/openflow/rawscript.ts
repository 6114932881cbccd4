import { z } from 'zod';
import { PIPELINE_OUTPUT_LIMIT_BYTES } from '../pipeline/run.js';

/**
 * OpenFlow `rawscript` steps as spokeflow runs them (issue 15 item 3): what the workflow sends the
 * activity, and the pure parts of Windmill's calling conventions (which argument goes where).
 * The conventions follow Windmill's workers (windmill-labs/windmill backend/windmill-worker/src:
 * bun_executor.rs calls `main` with the arguments its signature names, in order; bash scripts read
 * `name="$1"`; SQL scripts declare `-- $1 name` (PostgreSQL) or `-- ? name (type)` (MySQL)).
 */

export const SCRIPT_LANGUAGES = ['deno', 'bun', 'nativets', 'bash', 'python3', 'postgresql', 'mysql'] as const;
export type ScriptLanguage = (typeof SCRIPT_LANGUAGES)[number];
export const SQL_LANGUAGES: readonly ScriptLanguage[] = ['postgresql', 'mysql'];

/** A step without `timeout` runs at most this long; Windmill's own default is the instance's job timeout. */
export const RAWSCRIPT_DEFAULT_TIMEOUT_SECONDS = 300;
/** Heap (node) or address space (bash, python3) of one script's process. */
export const RAWSCRIPT_MEMORY_MIB = 512;
/** A script's result enters the workflow history: above this it fails the step instead. */
export const RAWSCRIPT_RESULT_LIMIT_BYTES = PIPELINE_OUTPUT_LIMIT_BYTES;

export const RawScriptRun = z
  .object({
    step: z.string().min(1).describe('the OpenFlow step id'),
    position: z.string().default('').describe('position inside loops and branches (`/loop.3`), empty at the top'),
    attempt: z.number().int().min(1).describe("Windmill's attempt number: 1, then one more per retry"),
    language: z.enum(SCRIPT_LANGUAGES).describe('the rawscript language'),
    content: z.string().describe('the script'),
    args: z.record(z.string(), z.unknown()).describe("main's arguments by name (the step's input transforms)"),
    timeoutSeconds: z.number().positive().max(86_400).describe('killed after this long'),
  })
  .strict();
export type RawScriptRun = z.input<typeof RawScriptRun>;

export interface RawScriptOutcome {
  /** main's return value (JSON): the step's result. */
  result: unknown;
  /** The script's stdout and stderr, as `s3://bucket/key`. */
  log: string;
}

/** What a failed script's error carries besides its message. */
export interface RawScriptFailureDetails {
  step: string;
  log: string;
}

/** One object per run, step, loop position and attempt: a retry never overwrites the log of the attempt before. */
export function scriptLogKey(workflowId: string, runId: string, step: string, position: string, attempt: number): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._:=-]+/g, '_');
  const where = position ? `${safe(step)}${position.split('/').map(safe).join('/')}` : safe(step);
  return `rawscript-logs/${safe(workflowId)}/${safe(runId)}/${where}/attempt-${attempt}.log`;
}

/**
 * Bash arguments as Windmill reads them: each `name="$N"` (or `name="${N:-default}"`) line names
 * positional parameter N. Gives the name of each position, 1-based, holes as undefined.
 */
export function bashArgNames(content: string): (string | undefined)[] {
  const names: (string | undefined)[] = [];
  for (const match of content.matchAll(/^\s*([A-Za-z_][A-Za-z0-9_]*)="\$\{?(\d+)/gm)) {
    const position = Number(match[2]);
    if (position >= 1 && names[position - 1] === undefined) names[position - 1] = match[1];
  }
  return Array.from({ length: names.length }, (_, i) => names[i]);
}

/** A bash argument as text: strings as they are, null as empty, anything else as JSON. */
export function bashArgText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Positional bash arguments from named ones. */
export function bashArgs(content: string, args: Record<string, unknown>): string[] {
  return bashArgNames(content).map((name) => (name === undefined ? '' : bashArgText(args[name])));
}

/** A SQL argument the script declares, in bind order. */
export interface SqlArg {
  name: string;
  default?: unknown;
}

/** A declared default as Windmill writes it: JSON when it parses (numbers, quoted text), else the text. */
function defaultValue(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (/^'.*'$/.test(t)) return t.slice(1, -1);
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return t;
  }
}

/**
 * The arguments a SQL script declares in comments: `-- $1 name = default` for PostgreSQL (bound
 * to `$1`, `$2`, … by number), `-- ? name (type) = default` for MySQL (bound to each `?` in order).
 */
export function sqlArgs(language: 'postgresql' | 'mysql', content: string): SqlArg[] {
  const out: SqlArg[] = [];
  if (language === 'postgresql') {
    for (const m of content.matchAll(/^\s*--\s*\$(\d+)\s+([A-Za-z_][A-Za-z0-9_]*)(?:\s*=\s*(.+?))?\s*$/gm)) {
      const i = Number(m[1]) - 1;
      if (i >= 0) out[i] = { name: m[2]!, ...(m[3] !== undefined ? { default: defaultValue(m[3]) } : {}) };
    }
    return Array.from({ length: out.length }, (_, i) => out[i] ?? { name: `$${i + 1}` });
  }
  for (const m of content.matchAll(/^\s*--\s*\?\s+([A-Za-z_][A-Za-z0-9_]*)(?:\s*\(([^)]*)\))?(?:\s*=\s*(.+?))?\s*$/gm))
    out.push({ name: m[1]!, ...(m[3] !== undefined ? { default: defaultValue(m[3]) } : {}) });
  return out;
}

/** The values bound to a SQL script's parameters, from the step's arguments or the declared defaults. */
export function sqlBindings(language: 'postgresql' | 'mysql', content: string, args: Record<string, unknown>): unknown[] {
  return sqlArgs(language, content).map((a) => {
    const value = Object.hasOwn(args, a.name) && args[a.name] !== null ? args[a.name] : a.default;
    if (value === undefined) return null;
    return typeof value === 'object' && value !== null && !(value instanceof Date) ? JSON.stringify(value) : value;
  });
}

/**
 * Windmill's `database` argument (`$res:u/admin/local_pg`) as a spokeflow connection name: the
 * resource path's last segment, lower-case, `_` as `-` (`local-pg`), which must be declared on the
 * worker (SPOKEFLOW_SOURCE_<NAME>_URL, or the stack's own `local-postgres` / `local-mysql`).
 */
export function connectionNameOf(database: unknown): string | undefined {
  if (typeof database !== 'string' || !database.startsWith('$res:')) return undefined;
  const last = database.slice('$res:'.length).split('/').pop() ?? '';
  const name = last.toLowerCase().replaceAll('_', '-');
  return /^[a-z0-9][a-z0-9-]*$/.test(name) ? name : undefined;
}
