import { readFile } from 'node:fs/promises';
import { WorkflowExecutionAlreadyStartedError, type WorkflowHandle } from '@temporalio/client';
import { SingleBar, Presets } from 'cli-progress';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { describeIssues } from '../common/errors.js';
import { SearchAttr } from '../common/search-attributes.js';
import { TaskQueue } from '../common/task-queues.js';
import { WORKFLOW_TYPES, workflowEntry, type WorkflowEntry } from '../common/workflows.js';
import { loadConfig, type SpokeflowConfig } from '../runtime/config.js';
import { createClients } from '../runtime/clients.js';
import { connectClient } from '../runtime/temporal.js';
import { noWorkerPolling, undeclaredDatasets } from './preflight.js';

/** A problem the person at the terminal can fix: printed as it is, without a stack trace. */
export class UsageError extends Error {}

function entryOf(workflowType: string): WorkflowEntry {
  const entry = workflowEntry(workflowType);
  if (!entry) throw new UsageError(`unknown workflow "${workflowType}": one of ${WORKFLOW_TYPES.join(', ')}`);
  return entry;
}

/** The input of a run: `--input '{…}'` (JSON or YAML) or `--input-file path` (.json or .yaml). */
export async function readInput(options: { input?: string; inputFile?: string }): Promise<unknown> {
  if (options.input !== undefined && options.inputFile !== undefined) throw new UsageError('give --input or --input-file, not both');
  const text = options.inputFile !== undefined ? await readFile(options.inputFile, 'utf8') : (options.input ?? '{}');
  try {
    return parseYaml(text) as unknown; // YAML is a superset of JSON
  } catch (err) {
    throw new UsageError(`input is neither JSON nor YAML: ${(err as Error).message}`);
  }
}

export function validateInput(workflowType: string, raw: unknown): unknown {
  const parsed = entryOf(workflowType).input.safeParse(raw);
  if (!parsed.success) throw new UsageError(`invalid ${workflowType} input: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** JSON Schema of a workflow's input, or of all of them, from the same zod schemas. */
export function inputJsonSchema(workflowType?: string): unknown {
  const types = workflowType ? [workflowType] : WORKFLOW_TYPES;
  const schemas = Object.fromEntries(types.map((t) => [t, z.toJSONSchema(entryOf(t).input, { io: 'input', unrepresentable: 'any' })]));
  return workflowType ? schemas[workflowType] : schemas;
}

export function runLink(config: SpokeflowConfig, workflowId: string, runId?: string): string {
  const base = `${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}/history` : base;
}

async function follow(entry: WorkflowEntry, handle: WorkflowHandle): Promise<unknown> {
  const bar = new SingleBar({ format: '{bar} {percentage}% | {value}/{total} {unit}', hideCursor: true }, Presets.shades_classic);
  let started = false;
  const result = handle.result();
  let finished = false;
  void result.finally(() => (finished = true)).catch(() => undefined);
  while (!finished) {
    const p = await handle.query<Record<string, unknown>>('progress').catch(() => undefined);
    const m = p ? entry.progressOf(p) : undefined;
    if (m && m.total > 0 && process.stdout.isTTY) {
      if (!started) bar.start(m.total, m.done, { unit: m.unit });
      started = true;
      bar.setTotal(m.total);
      bar.update(m.done, { unit: m.unit });
    }
    await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
  }
  if (started) {
    await result.then(
      () => bar.update(bar.getTotal()),
      () => undefined,
    ); // a run that succeeded ends full
    bar.stop();
  }
  return result;
}

/**
 * `spokeflow run`: validates the input with the workflow's own schema, checks that the datasets
 * it names are declared and that a worker polls its queue (unless `requireWorker` is false), starts the run on its
 * domain's task queue under its deterministic id, prints the id and the Web UI link, and (unless
 * told not to) follows its progress until it ends.
 */
export async function runWorkflow(
  workflowType: string,
  raw: unknown,
  options: { follow: boolean; taskQueue?: string; config?: SpokeflowConfig; requireWorker?: boolean },
): Promise<unknown> {
  const entry = entryOf(workflowType);
  const input = validateInput(workflowType, raw);
  const config = options.config ?? loadConfig();
  const taskQueue = options.taskQueue ?? TaskQueue[entry.domain];
  const named = entry.datasetsNamed(input);
  if (named.length > 0) {
    const clients = createClients(config); // only the catalog is read; the stores are not opened otherwise
    const undeclared = await undeclaredDatasets(clients.catalog, named).finally(() => clients.close());
    if (undeclared) throw new UsageError(undeclared);
  }
  const { client, close } = await connectClient(config);
  try {
    if (options.requireWorker !== false) {
      const idle = await noWorkerPolling(client, config.temporal.namespace, taskQueue, entry.domain);
      if (idle) throw new UsageError(idle);
    }
    const workflowId = entry.workflowIdOf(input);
    const dataset = entry.datasetOf(input);
    const handle = await client.workflow
      .start(workflowType, {
        taskQueue,
        workflowId,
        args: [input],
        staticSummary: entry.summaryOf(input),
        typedSearchAttributes: [
          { key: SearchAttr.kind, value: entry.kind },
          ...(dataset ? [{ key: SearchAttr.dataset, value: dataset }] : []),
        ],
      })
      .catch((err: unknown) => {
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          throw new UsageError(
            `${workflowId} is already running: follow it with \`spokeflow status ${workflowId}\` or in ${runLink(config, workflowId)}`,
          );
        }
        throw err;
      });
    console.log(`started ${workflowId}\n  ${runLink(config, workflowId, handle.firstExecutionRunId)}`);
    if (!options.follow) return undefined;
    return await follow(entry, handle);
  } finally {
    await close();
  }
}

/** `spokeflow status <workflow id>`: where a run is, from Temporal and its progress query. */
export async function workflowStatus(workflowId: string, config = loadConfig()): Promise<Record<string, unknown>> {
  const { client, close } = await connectClient(config);
  try {
    const handle = client.workflow.getHandle(workflowId);
    const d = await handle.describe().catch((err: unknown) => {
      throw new UsageError(`no run with workflow id ${workflowId} (${(err as Error).message})`);
    });
    const progress = d.status.name === 'RUNNING' ? await handle.query('progress').catch(() => undefined) : undefined;
    return {
      workflowId,
      type: d.type,
      status: d.status.name,
      started: d.startTime.toISOString(),
      closed: d.closeTime?.toISOString(),
      link: runLink(config, workflowId, d.runId),
      ...(progress !== undefined ? { progress } : {}),
    };
  } finally {
    await close();
  }
}
