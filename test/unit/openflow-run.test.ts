import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flowIdOf, prepareFlowRun } from '../../cli/flow-run.js';
import { flowConcurrencyKey, runProblems, WHILE_LOOP_STEP_RUNS } from '../../common/openflow/run.js';
import { checkFlow } from '../../common/openflow/validate.js';

const fixture = (name: string): string => `test/fixtures/openflow/${name}`;

async function tableFile(text: string): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'flow-run-')), 'scripts.yaml');
  await writeFile(path, text);
  return path;
}

describe('flows run: what is checked before anything starts', () => {
  it('gives the pipelineWorkflow input: the file, its script table and the input', async () => {
    const scripts = await tableFile('scripts:\n  f/shop/record: { activity: record, input: { label: name } }\n');
    const run = await prepareFlowRun(fixture('run/order.yaml'), { input: { shelves: ['a'] }, scripts });
    expect(run.id).toBe('order');
    expect(run.scripts).toEqual({ 'f/shop/record': { activity: 'record', local: false, input: { label: 'name' } } });
    expect(run.input).toEqual({ shelves: ['a'] });
    expect((run.openflow as { summary: string }).summary).toBe('Restock shelves');
  });

  it("refuses an input the flow's schema rejects, naming the field", async () => {
    const scripts = await tableFile('f/shop/record: { activity: record }\n');
    await expect(prepareFlowRun(fixture('run/order.yaml'), { input: { shelves: [1] }, scripts })).rejects.toThrow(
      /shelves\.0: must be string/,
    );
    await expect(prepareFlowRun(fixture('run/order.yaml'), { input: {}, scripts })).rejects.toThrow(
      /must have required property 'shelves'/,
    );
  });

  it('refuses unmapped script paths and features that only validate, naming step and field', async () => {
    await expect(prepareFlowRun(fixture('run/order.yaml'), { input: { shelves: [] } })).rejects.toThrow(
      /step 'count': script path 'f\/shop\/record' is not in the scripts table/,
    );
    const err = await prepareFlowRun(fixture('retry-suspend-sleep.yaml'), { input: {} }).catch((e: Error) => e);
    expect((err as Error).message).toContain("step 'review': suspend.user_auth_required: approvers are not authenticated yet");
    expect((err as Error).message).not.toContain('suspend.required_events'); // two approvals, a resume form: those run
    expect((err as Error).message).toContain('value.preprocessor_module: preprocessor modules do not run yet');
    expect((err as Error).message).not.toContain('concurren'); // concurrency limits run (across runs, in the catalog)
  });

  it('refuses $res: and $var: inputs at run time rather than pass them on as text', async () => {
    const err = await prepareFlowRun(fixture('while-stop.yaml'), { input: {} }).catch((e: Error) => e);
    expect((err as Error).message).toContain("step 'page': input_transforms.feed: $res: and $var: values do not resolve yet");
  });

  it('refuses a while loop without max_iterations, or one whose iterations could outgrow a run, naming step and field', async () => {
    const unbounded = await prepareFlowRun(fixture('while-stop.yaml'), { input: {} }).catch((e: Error) => e);
    expect((unbounded as Error).message).toContain(
      "step 'pages': value.max_iterations: a while loop runs only with an iteration limit (Windmill loops until cancelled)",
    );
    const scripts = await tableFile('f/poll/record: { activity: record }\n');
    const loop = (limit: number) => ({
      summary: '',
      value: { modules: [{ id: 'spin', value: { type: 'whileloopflow', skip_failures: false, max_iterations: limit, modules: [] } }] },
    });
    const table = { 'f/poll/record': { activity: 'record', local: false, input: {} } };
    expect(runProblems(checkFlow(loop(WHILE_LOOP_STEP_RUNS)).flow!, table)).toEqual([]);
    expect(runProblems(checkFlow(loop(WHILE_LOOP_STEP_RUNS + 1)).flow!, table)).toEqual([
      `step 'spin': value.max_iterations: ${WHILE_LOOP_STEP_RUNS + 1} iterations of 1 step(s) exceed ${WHILE_LOOP_STEP_RUNS} step runs in one flow run`,
    ]);
    const run = await prepareFlowRun(fixture('run/poll.yaml'), { input: { ready_at: 2 }, scripts });
    expect((run.openflow as { value: { modules: { value: { max_iterations?: number } }[] } }).value.modules[0]!.value.max_iterations).toBe(
      10,
    );
  });

  it('reads sub-flows from the flows folder as the Windmill CLI syncs them, and refuses one that runs itself', async () => {
    const scripts = await tableFile('f/shop/record: { activity: record }\n');
    const workspace = 'test/fixtures/openflow/workspace';
    const run = await prepareFlowRun(`${workspace}/f/shop/restock.flow.yaml`, { input: { shelves: ['a'] }, scripts, flows: workspace });
    expect(Object.keys(run.flows)).toEqual(['f/shop/refill']);
    expect((run.flows['f/shop/refill'] as { summary: string }).summary).toBe('Refill one shelf');
    await expect(prepareFlowRun(`${workspace}/f/shop/restock.flow.yaml`, { input: { shelves: [] }, scripts })).rejects.toThrow(
      /step 'refill': flow path 'f\/shop\/refill' resolves to no flow file/,
    );
    const folder = await mkdtemp(join(tmpdir(), 'flows-'));
    await mkdir(join(folder, 'f/a'), { recursive: true });
    await writeFile(
      join(folder, 'f/a/again.flow.yaml'),
      'summary: again\nvalue:\n  modules:\n    - id: again\n      value: { type: flow, path: f/a/again, input_transforms: {} }\n',
    );
    await expect(prepareFlowRun(join(folder, 'f/a/again.flow.yaml'), { input: {}, flows: folder })).rejects.toThrow(
      "step 'again': flow 'f/a/again': step 'again': flow path 'f/a/again' runs itself (f/a/again → f/a/again)",
    );
  });

  it('refuses a scripts table that names no activity or workflow', async () => {
    const scripts = await tableFile('f/shop/record: { script: nope }\n');
    await expect(prepareFlowRun(fixture('run/order.yaml'), { input: { shelves: [] }, scripts })).rejects.toThrow(/scripts table/);
  });

  it('reads the hello flow with its scripts table, as the README runs it', async () => {
    const run = await prepareFlowRun(fixture('run/hello.yaml'), { input: { name: 'Ada' }, scripts: fixture('run/hello.scripts.yaml') });
    expect(run.scripts['f/util/log']).toEqual({ activity: 'logPipelineEvent', local: true, input: { text: 'message' } });
  });

  it('names the run after the file or the synced folder', () => {
    expect(flowIdOf('f/shop/restock.flow/')).toBe('restock');
    expect(flowIdOf('flows/Order Sync.yaml')).toBe('order-sync');
    expect(flowIdOf('legacy.flow.json')).toBe('legacy');
  });
});

describe("a flow's concurrency key, as Windmill writes it", () => {
  it('fills in $workspace and $args[name], and defaults to the flow itself', () => {
    const input = { shop: 'north', n: 3, tags: ['a'] };
    expect(flowConcurrencyKey('$workspace/restock-$args[shop]', 'restock', 'default', input)).toBe('default/restock-north');
    expect(flowConcurrencyKey('n=$args[n] t=$args[tags] x=$args[missing]', 'restock', 'default', input)).toBe('n=3 t=["a"] x=null');
    expect(flowConcurrencyKey(undefined, 'restock', 'default', input)).toBe('flow/restock');
    expect(flowConcurrencyKey('', 'restock', 'default', input)).toBe('flow/restock');
  });
});
