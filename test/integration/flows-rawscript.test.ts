import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowRunInput } from '../../common/openflow/run.js';
import type { PipelineProgress, PipelineResult } from '../../common/pipeline/spec.js';
import { SearchAttr } from '../../common/search-attributes.js';
import { openPipelineDevWorker, type PipelineDevWorker } from '../support/pipeline-dev-worker.js';

// Asynchronous on purpose: the worker runs in this process, and a blocking spawn would starve it.
const exec = promisify(execFile);
const FLOW = 'test/fixtures/openflow/run/rawscripts.yaml';

describe('OpenFlow rawscript steps on the dev server', () => {
  const tag = randomUUID().slice(0, 8);
  const taskQueue = `test-rawscript-${tag}`;
  let client: Client;
  let dev: PipelineDevWorker;

  beforeAll(async () => {
    dev = await openPipelineDevWorker(taskQueue);
    ({ client } = dev);
  });

  afterAll(async () => {
    await dev?.close();
  });

  /** A log object's text, from its s3://bucket/key link. */
  async function logText(link: string | undefined): Promise<string> {
    const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(link ?? '') ?? [];
    expect(bucket, `log link ${link}`).toBeDefined();
    const chunks: Buffer[] = [];
    for await (const chunk of await dev.clients.minio.getObject(bucket!, key!)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  /** One inline-script flow, started directly; its failure as the client sees it. */
  async function failedRun(
    id: string,
    module: Record<string, unknown>,
  ): Promise<{ failure: ApplicationFailure; progress: PipelineProgress }> {
    const input: FlowRunInput = {
      id,
      openflow: { summary: '', value: { modules: [module] } },
      scripts: {},
      flows: {},
      input: {},
      task_queues: {},
    };
    const handle = await client.workflow.start('pipelineWorkflow', {
      taskQueue,
      workflowId: `pipeline:${id}`,
      args: [input],
      typedSearchAttributes: [{ key: SearchAttr.kind, value: 'pipeline' }],
    });
    const err = await handle.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const failure = (err as WorkflowFailedError).cause;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    return { failure: failure as ApplicationFailure, progress: await handle.query<PipelineProgress>('progress') };
  }

  it("runs TypeScript, Python, bash, PostgreSQL and MySQL steps with the step's inputs, each result the next one's input", async () => {
    const id = `rawscripts-${tag}`;
    const args = ['bin/spokeflow.js', 'flows', 'run', FLOW, '--input', '{"name":"Ada","times":2}', '--id', id, '--task-queue', taskQueue];
    const out = await exec(process.execPath, args);
    const result = JSON.parse(out.stdout) as PipelineResult & { result: unknown };
    expect(result.status).toBe('succeeded');
    expect(result.outputs).toEqual({
      greet: { text: 'hi Ada, hi Ada', count: 2 },
      double: { doubled: 4, label: 'x' },
      shout: 'HI ADA, HI ADA',
      tens: [{ tens: 40, word: 'shelf' }],
      next: [{ next_value: 41 }],
    });

    // Each step links its log object; the logs hold what the scripts printed, on stdout and stderr.
    const progress = await client.workflow.getHandle(`pipeline:${id}`).query<PipelineProgress>('progress');
    for (const step of ['greet', 'double', 'shout', 'tens', 'next'])
      expect(progress.nodes[step], step).toMatchObject({ kind: 'rawscript', status: 'succeeded' });
    expect(progress.nodes.greet!.log).toMatch(new RegExp(`^s3://[^/]+/rawscript-logs/pipeline:${id}/[^/]+/greet/attempt-1\\.log$`));
    expect(await logText(progress.nodes.greet!.log)).toContain('greeting Ada 2 time(s)');
    expect(await logText(progress.nodes.double!.log)).toContain('doubling 2');
    expect(await logText(progress.nodes.shout!.log)).toContain('shouting');
    expect(await logText(progress.nodes.tens!.log)).toContain('postgresql: 2 binding(s); 1 row(s)');
  });

  it("fails the step with the script's error after Windmill's retries, one log object per attempt", async () => {
    const { failure, progress } = await failedRun(`rawscript-fails-${tag}`, {
      id: 'check',
      retry: { constant: { attempts: 1, seconds: 1 } },
      value: {
        type: 'rawscript',
        language: 'python3',
        content: 'def main(shelf):\n    print("checking", shelf)\n    raise ValueError(f"shelf {shelf} is empty")\n',
        input_transforms: { shelf: { type: 'static', value: 'b2' } },
      },
    });
    expect(failure.message).toBe('step check failed: RawScriptFailed: ValueError: shelf b2 is empty');
    expect(failure.type).toBe('RawScriptFailed');
    expect(progress.nodes.check).toMatchObject({ status: 'failed', attempts: 2 });
    const second = progress.nodes.check!.log!;
    expect(second).toMatch(/\/check\/attempt-2\.log$/);
    for (const link of [second.replace('attempt-2', 'attempt-1'), second]) {
      const text = await logText(link);
      expect(text).toContain('checking b2');
      expect(text).toContain('ValueError: shelf b2 is empty');
    }
  });

  it("kills a script that runs past the step's timeout and fails the step saying so", async () => {
    const { failure, progress } = await failedRun(`rawscript-timeout-${tag}`, {
      id: 'stall',
      timeout: 2,
      value: { type: 'rawscript', language: 'bash', content: 'echo "waiting"\nsleep 120\n', input_transforms: {} },
    });
    expect(failure.message).toBe('step stall failed: RawScriptTimedOut: timed out after 2 s and was killed');
    expect(failure.type).toBe('RawScriptTimedOut');
    expect(await logText(progress.nodes.stall!.log)).toContain('waiting');
  });

  it('refuses a SQL connection the worker does not declare, naming the field', async () => {
    const { failure } = await failedRun(`rawscript-connection-${tag}`, {
      id: 'q',
      value: {
        type: 'rawscript',
        language: 'mysql',
        content: 'SELECT 1',
        input_transforms: { database: { type: 'static', value: '$res:u/admin/not_here' } },
      },
    });
    expect(failure.message).toContain('input_transforms.database: connection "not-here" is not declared on this worker');
    expect(failure.type).toBe('InvalidInput');
  });
  it("resolves a $var: and a variable() on the worker's side: the script gets the secret, history and log only the reference", async () => {
    const secret = `tok-${randomUUID()}`;
    process.env.SPOKEFLOW_VAR_F_IT_API_TOKEN = secret; // the worker runs in this process, as it would read its own environment
    try {
      const id = `rawscript-secret-${tag}`;
      const input: FlowRunInput = {
        id,
        openflow: {
          summary: '',
          value: {
            modules: [
              {
                id: 'call',
                value: {
                  type: 'rawscript',
                  language: 'bash',
                  content: 'token="$1"\nagain="$2"\necho "calling with $token"\n[ "$token" = "$again" ] && echo "${#token}"\n',
                  input_transforms: {
                    token: { type: 'static', value: '$var:f/it/api_token' },
                    again: { type: 'javascript', expr: "variable('f/it/api_token')" },
                  },
                },
              },
            ],
          },
        },
        scripts: {},
        flows: {},
        input: {},
        task_queues: {},
      };
      const handle = await client.workflow.start('pipelineWorkflow', { taskQueue, workflowId: `pipeline:${id}`, args: [input] });
      const result = (await handle.result()) as PipelineResult;
      expect(result.outputs.call).toBe(String(secret.length)); // both arguments reached the script, resolved
      // Every string of the history as JSON, as it is and read as base64 (payloads): the secret is in neither.
      const texts: string[] = [];
      const collect = (node: unknown): void => {
        if (typeof node === 'string') texts.push(node, Buffer.from(node, 'base64').toString('latin1'));
        else if (node && typeof node === 'object') Object.values(node).forEach(collect);
      };
      collect(JSON.parse(historyToJSON(await handle.fetchHistory())));
      const history = texts.join('\n');
      expect(history).toContain('$var:f/it/api_token');
      expect(history).not.toContain(secret);
      const log = await logText((await handle.query<PipelineProgress>('progress')).nodes.call!.log);
      expect(log).toContain('calling with ***');
      expect(log).not.toContain(secret);
    } finally {
      delete process.env.SPOKEFLOW_VAR_F_IT_API_TOKEN;
    }
  });
});
