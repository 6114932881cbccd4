import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Client as MinioClient } from 'minio';
import { ErrorType, parseInput } from '../../common/errors.js';
import {
  connectionNameOf,
  RAWSCRIPT_RESULT_LIMIT_BYTES,
  RawScriptRun,
  scriptLogKey,
  type RawScriptFailureDetails,
  type RawScriptOutcome,
} from '../../common/openflow/rawscript.js';
import { runChild } from './child-process.js';
import { resolveReferences, type FlowSecretsSource } from './flow-secrets.js';
import { SCRIPT_PROCESSES, ScriptError } from './languages.js';
import { runSqlScript } from './sql.js';

export interface RawScriptDeps {
  minio: MinioClient;
  /** Bucket of the scripts' logs (the bronze bucket, under `rawscript-logs/`). */
  logBucket: string;
  /** A declared connection's URL by name (runtime/config.ts sourceUrl); undefined when not declared. */
  connectionUrl: (name: string) => string | undefined;
  /** Where `$var:` and `$res:` arguments resolve: the worker's environment and a folder of files. */
  secrets: FlowSecretsSource;
}

const URL_KINDS = { postgresql: ['postgres:', 'postgresql:'], mysql: ['mysql:', 'mariadb:'] } as const;

function badInput(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, ErrorType.invalidInput);
}

/** Windmill's `database` argument → the declared connection it names, checked for the script's language. */
function connectionFor(deps: Pick<RawScriptDeps, 'connectionUrl'>, language: 'postgresql' | 'mysql', database: unknown): string {
  const name = connectionNameOf(database);
  if (!name) throw badInput(`input_transforms.database: must be "$res:<connection>" naming a declared ${language} connection`);
  const url = deps.connectionUrl(name);
  if (!url)
    throw badInput(
      `input_transforms.database: connection "${name}" is not declared on this worker (SPOKEFLOW_SOURCE_${name.toUpperCase().replaceAll('-', '_')}_URL)`,
    );
  const kinds: readonly string[] = URL_KINDS[language];
  if (!kinds.some((k) => url.startsWith(k)))
    throw badInput(`input_transforms.database: connection "${name}" is not a ${language} connection`);
  return url;
}

/** A script that ran and failed: its message, and its output for the log. */
export class ScriptFailed extends Error {
  constructor(
    message: string,
    readonly log: string,
    readonly timedOut = false,
  ) {
    super(message);
  }
}

/** The script's own run: its result and log text, or a ScriptFailed / ScriptError with its message (and the log so far). */
export async function executeScript(
  deps: Pick<RawScriptDeps, 'connectionUrl'>,
  run: ReturnType<typeof RawScriptRun.parse>,
): Promise<{ result: unknown; log: string }> {
  const timeoutMs = run.timeoutSeconds * 1000;
  if (run.language === 'postgresql' || run.language === 'mysql') {
    const url = connectionFor(deps, run.language, run.args.database);
    return runSqlScript({ language: run.language, url, content: run.content, args: run.args, timeoutMs });
  }
  const lang = SCRIPT_PROCESSES[run.language]!;
  const dir = await mkdtemp(join(tmpdir(), 'spokeflow-rawscript-'));
  try {
    const command = await lang.prepare(dir, run.content, run.args);
    const outcome = await runChild({ ...command, cwd: dir, timeoutMs, env: { WM_FLOW_STEP_ID: run.step } }).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new ScriptFailed(`${command.command} is not installed on this worker`, '');
      throw err;
    });
    if (outcome.timedOut) throw new ScriptFailed(`timed out after ${run.timeoutSeconds} s and was killed`, outcome.log, true);
    try {
      return { result: await lang.result(dir, outcome), log: outcome.log };
    } catch (err) {
      if (err instanceof ScriptError) throw new ScriptFailed(err.message, outcome.log);
      throw err;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * OpenFlow rawscript steps (issue 15 item 3): each attempt runs the script in a child process of
 * its own (TypeScript/JavaScript on this Node, types stripped by @swc/core; bash; python3) or its
 * SQL against a declared connection, keeps stdout and stderr as one log object in MinIO, and
 * gives main's JSON value back. The script's failure is non-retryable on the Temporal side: the
 * step's Windmill `retry` decides, in the workflow (workflows/pipeline/flow/rawscript.ts).
 */
export function createRawScriptActivities(deps: RawScriptDeps) {
  return {
    async runRawScript(raw: unknown): Promise<RawScriptOutcome> {
      const given = parseInput(RawScriptRun, raw, 'rawscript run');
      // A SQL script's `database` names a connection (executeScript), not a secret of its own.
      const sql = given.language === 'postgresql' || given.language === 'mysql';
      const { args, redact } = await resolveReferences(given.args, deps.secrets, (arg) => sql && arg === 'database');
      const run = { ...given, args };
      const info = Context.current().info.workflowExecution;
      const key = scriptLogKey(
        info?.workflowId ?? 'standalone',
        info?.runId ?? Context.current().info.activityId,
        run.step,
        run.position,
        run.attempt,
      );
      const log = `s3://${deps.logBucket}/${key}`;
      const header = `# rawscript ${run.language}, step ${run.step}${run.position}, attempt ${run.attempt}\n`;
      const save = (text: string) =>
        deps.minio.putObject(deps.logBucket, key, Buffer.from(header + redact(text), 'utf8'), undefined, {
          'Content-Type': 'text/plain; charset=utf-8',
        });
      let done: { result: unknown; log: string };
      try {
        done = await executeScript(deps, run);
      } catch (err) {
        if (!(err instanceof ScriptFailed) && !(err instanceof ScriptError)) throw err;
        const text = err instanceof ScriptFailed ? err.log : '';
        await save(`${text}\n# failed: ${err.message}\n`);
        const details: RawScriptFailureDetails = { step: run.step, log };
        throw ApplicationFailure.create({
          message: redact(err.message),
          type: err instanceof ScriptFailed && err.timedOut ? ErrorType.rawScriptTimedOut : ErrorType.rawScriptFailed,
          nonRetryable: true,
          details: [details],
        });
      }
      const size = Buffer.byteLength(JSON.stringify(done.result ?? null), 'utf8');
      if (size > RAWSCRIPT_RESULT_LIMIT_BYTES) {
        const message = `the script returned ${size} bytes of JSON, over ${RAWSCRIPT_RESULT_LIMIT_BYTES}: write large data to a store and return its key`;
        await save(`${done.log}\n# failed: ${message}\n`);
        throw ApplicationFailure.create({
          message,
          type: ErrorType.pipelineOutputTooLarge,
          nonRetryable: true,
          details: [{ step: run.step, log }],
        });
      }
      await save(done.log);
      return { result: done.result, log };
    },
  };
}
