import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import { parse as parseYaml } from 'yaml';
import { describeIssues } from '../common/errors.js';
import { compileInputSchema } from '../common/openflow/input-schema.js';
import { runProblems, ScriptTable, type FlowRunInput, type FlowTable } from '../common/openflow/run.js';
import { nestedModules, type FlowModule, type OpenFlow } from '../common/openflow/schema.js';
import { SearchAttr } from '../common/search-attributes.js';
import { TaskQueue } from '../common/task-queues.js';
import type { PipelineProgress } from '../common/pipeline/spec.js';
import { pipelineWorkflowId } from '../common/workflow-ids.js';
import { loadConfig } from '../runtime/config.js';
import { connectClient } from '../runtime/temporal.js';
import { readFlow } from './flow-files.js';
import { noWorkerPolling } from './preflight.js';
import { runLink, UsageError } from './run.js';

/** The run's name from the file: `f/shop/restock.flow` → `restock`. */
export function flowIdOf(path: string): string {
  const name = basename(path.replace(/\/+$/, ''))
    .replace(/(\.flow)?(\.ya?ml|\.json)?$/, '')
    .replace(/\.flow$/, '');
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z]+/, '');
  return slug || 'flow';
}

/** A scripts table file: `{ scripts: { <path>: { activity | workflow, … } } }` or the map itself. */
export async function readScriptTable(path: string | undefined): Promise<ScriptTable> {
  if (path === undefined) return {};
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`scripts table ${path}: ${(err as Error).message.split('\n')[0]}`);
  }
  const table = typeof raw === 'object' && raw !== null && 'scripts' in raw ? (raw as { scripts: unknown }).scripts : raw;
  const parsed = ScriptTable.safeParse(table ?? {});
  if (!parsed.success) throw new UsageError(`scripts table ${path}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** Where the Windmill CLI syncs flow `f/a/b` in a workspace folder: `f/a/b.flow/flow.yaml`, or a single file. */
const flowFileCandidates = (folder: string, path: string): string[] =>
  [`${path}.flow`, `${path}.flow.yaml`, `${path}.flow.json`, `${path}.yaml`, `${path}.json`].map((name) => join(folder, name));

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function flowPathsOf(flow: OpenFlow): string[] {
  const paths: string[] = [];
  const visit = (m: FlowModule): void => {
    if (m.value.type === 'flow') paths.push(m.value.path);
    nestedModules(m.value).forEach(visit);
  };
  flow.value.modules.forEach(visit);
  if (flow.value.failure_module) visit(flow.value.failure_module as FlowModule);
  return paths;
}

/**
 * Every sub-flow a flow runs, at any depth, read from the flows folder as the Windmill CLI syncs a
 * workspace. A path that resolves to no file is left out: runProblems then names the step.
 * A file that does not read or validate is a usage error naming the path.
 */
export async function readFlowTable(flow: OpenFlow, folder: string): Promise<FlowTable> {
  const table: FlowTable = {};
  const pending = flowPathsOf(flow);
  for (let path = pending.shift(); path !== undefined; path = pending.shift()) {
    if (Object.hasOwn(table, path)) continue;
    let file: string | undefined;
    for (const candidate of flowFileCandidates(folder, path)) if (!file && (await exists(candidate))) file = candidate;
    if (!file) continue;
    const check = await readFlow(file);
    if (!check.flow || check.problems.length > 0)
      throw new UsageError(`flow '${path}' (${check.file}) cannot run:\n  ${check.problems.join('\n  ')}`);
    table[path] = check.flow as unknown as Record<string, unknown>;
    pending.push(...flowPathsOf(check.flow));
  }
  return table;
}

/**
 * Everything `flows run` checks before it starts anything: the file (as `flows validate`), every
 * script path against the table, every feature against what runs, and the input against the
 * flow's `schema` (ajv, each field named). Gives the pipelineWorkflow input.
 */
export async function prepareFlowRun(
  path: string,
  o: { input: unknown; scripts?: string; flows?: string; id?: string },
): Promise<FlowRunInput> {
  const check = await readFlow(path);
  const scripts = await readScriptTable(o.scripts);
  const flows = check.flow ? await readFlowTable(check.flow, o.flows ?? '.') : {};
  const problems = check.flow ? [...check.problems, ...runProblems(check.flow, scripts, flows)] : check.problems;
  if (!check.flow || problems.length > 0) throw new UsageError(`${check.file} cannot run:\n  ${problems.join('\n  ')}`);
  if (typeof o.input !== 'object' || o.input === null || Array.isArray(o.input)) throw new UsageError('--input: must be an object');
  const inputProblems = compileInputSchema(check.flow.schema)(o.input);
  if (inputProblems.length > 0) throw new UsageError(`invalid input for ${check.file}:\n  ${inputProblems.join('\n  ')}`);
  return {
    id: o.id ?? flowIdOf(path),
    openflow: check.flow as unknown as Record<string, unknown>,
    scripts,
    flows,
    input: o.input as Record<string, unknown>,
    task_queues: {},
  };
}

/** `spokeflow flows run`: checks, starts pipelineWorkflow on the pipelines' queue, waits and gives the result. */
export async function runFlowCommand(
  path: string,
  o: { input: unknown; scripts?: string; flows?: string; id?: string; taskQueue?: string; wait: boolean },
): Promise<unknown> {
  const input = await prepareFlowRun(path, o);
  const config = loadConfig();
  const taskQueue = o.taskQueue ?? TaskQueue.ingestion; // where pipelineWorkflow runs (common/workflows.ts)
  const { client, close } = await connectClient(config);
  try {
    if (o.wait) {
      const idle = await noWorkerPolling(client, config.temporal.namespace, taskQueue, 'ingestion');
      if (idle) throw new UsageError(idle);
    }
    const workflowId = pipelineWorkflowId(input);
    const summary = (input.openflow as { summary?: string }).summary;
    const handle = await client.workflow
      .start('pipelineWorkflow', {
        taskQueue,
        workflowId,
        args: [input],
        staticSummary: `flow ${input.id}${summary ? `: ${summary}` : ''}`,
        typedSearchAttributes: [{ key: SearchAttr.kind, value: 'pipeline' }],
      })
      .catch((err: unknown) => {
        if (err instanceof WorkflowExecutionAlreadyStartedError) throw new UsageError(`${workflowId} is already running`);
        throw err;
      });
    console.error(`started ${workflowId}\n  ${runLink(config, workflowId, handle.firstExecutionRunId)}`);
    const early = (input.openflow as { value?: { early_return?: string } }).value?.early_return;
    return early === undefined ? await handle.result() : await earlyResult(handle, early);
  } finally {
    await close();
  }
}

/**
 * Windmill's early return, as its sync endpoints give it: the `early_return` step's result as soon
 * as the run's progress holds it (the run goes on), or the run's own end if that comes first.
 */
async function earlyResult(handle: WorkflowHandle, step: string): Promise<unknown> {
  let ended = false;
  const end = handle.result();
  // Observed either way: once the early result is out, the run's own end is no longer awaited.
  end.then(
    () => (ended = true),
    () => (ended = true),
  );
  const early = (async () => {
    while (!ended) {
      const progress = await handle.query<PipelineProgress>('progress').catch(() => undefined);
      if (progress?.earlyReturn) {
        console.error(`early return at step ${step}: the run goes on (${handle.workflowId})`);
        return { status: 'running', early_return: step, result: progress.earlyReturn.result };
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return end;
  })();
  return Promise.race([end, early]);
}
