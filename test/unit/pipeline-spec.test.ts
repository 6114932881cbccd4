import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { describeIssues } from '../../common/errors.js';
import {
  PipelineSpec,
  pipelineJsonSchema,
  queueOf,
  resumeInput,
  retryPolicyOf,
  siblingDependencies,
  topologicalOrder,
  type PipelineSpecInput,
} from '../../common/pipeline/spec.js';
import { TaskQueue } from '../../common/task-queues.js';
import { PIPELINE_SCHEDULES } from '../../schedules/pipelines.js';
import { ScheduleSpec } from '../../schedules/schema.js';
import { workflowEntry } from '../../common/workflows.js';

type RawModule = Record<string, unknown>;
const task = (id: string, input: Record<string, string> = {}, extra: RawModule = {}): RawModule => ({
  id,
  ...extra,
  value: {
    type: 'activity',
    name: 'work',
    input_transforms: Object.fromEntries(Object.entries(input).map(([k, expr]) => [k, { type: 'expr', expr }])),
  },
});
const spec = (modules: unknown[], more: Record<string, unknown> = {}) => ({ id: 'test', modules, ...more });

/** The one message of an invalid spec ("path: message"). */
function problem(raw: unknown): string {
  const result = PipelineSpec.safeParse(raw);
  if (result.success) throw new Error('expected the spec to be refused');
  return describeIssues(result.error);
}

describe('pipeline spec validation', () => {
  it('accepts a spec using every node kind', () => {
    const result = PipelineSpec.safeParse(
      spec(
        [
          task('list', {}),
          {
            id: 'each',
            value: {
              type: 'forloopflow',
              iterator: { type: 'expr', expr: 'nodes.list.names' },
              parallel: true,
              parallelism: 5,
              modules: [
                {
                  id: 'sync',
                  value: { type: 'workflow', name: 'syncWorkflow', input_transforms: { dataset: { type: 'expr', expr: 'item' } } },
                },
              ],
            },
          },
          {
            id: 'route',
            value: { type: 'branchone', branches: [{ expr: 'len(nodes.each) > 0', modules: [task('big')] }], default: [task('small')] },
          },
          {
            id: 'both',
            value: { type: 'branchall', branches: [{ modules: [task('x1')] }, { skip_failure: true, modules: [task('x2')] }] },
          },
          { id: 'ok', after: ['both'], value: { type: 'suspend', timeout: '1h', on_timeout: 'approve' } },
          { id: 'nap', after: ['ok'], value: { type: 'sleep', duration: 30 } },
        ],
        { failure_module: task('alert', { message: 'error.message' }) },
      ),
    );
    expect(result.success ? 'ok' : describeIssues(result.error)).toBe('ok');
    const data = result.data!;
    expect(data.modules[4]!.value).toMatchObject({ type: 'suspend', timeout: 3_600_000 });
    expect(data.modules[5]!.value).toMatchObject({ type: 'sleep', duration: 30_000 });
  });

  it('refuses an unknown node kind, naming the node', () => {
    expect(problem(spec([{ id: 'a', value: { type: 'rawscript' } }]))).toBe(
      'modules.0.value.type: node a: unknown node kind "rawscript": one of activity, workflow, forloopflow, branchone, branchall, suspend, sleep, checks',
    );
  });

  it('refuses a reference to a node that does not exist', () => {
    expect(problem(spec([task('a', { x: 'nodes.ghost.rows' })]))).toBe(
      'modules.0.value.input_transforms.x.expr: node a: value.input_transforms.x.expr: unknown node ghost',
    );
  });

  it('refuses an `after` naming a node that does not exist', () => {
    expect(problem(spec([task('a', {}, { after: ['ghost'] })]))).toBe('modules.0.after.0: node a: after: unknown node ghost');
  });

  it('refuses a reference into another node', () => {
    const loop = { id: 'l', value: { type: 'forloopflow', iterator: { type: 'expr', expr: '[1, 2]' }, modules: [task('inner')] } };
    expect(problem(spec([loop, task('b', { x: 'nodes.inner' })]))).toMatch(
      /^modules\.1\.value\.input_transforms\.x\.expr: node b: .*inner is not visible here/,
    );
  });

  it('refuses a cycle, naming it', () => {
    expect(problem(spec([task('a', { x: 'nodes.c' }), task('b', { x: 'nodes.a' }), task('c', {}, { after: ['b'] })]))).toBe(
      'modules.0.after: node a: after: cycle: a → c → b → a (a node waits, directly or through its expressions, for one that waits for it)',
    );
  });

  it('refuses a node reading its own output', () => {
    expect(problem(spec([task('a', { x: 'nodes.a.rows' })]))).toBe(
      'modules.0.value.input_transforms.x.expr: node a: value.input_transforms.x.expr: a node cannot read its own output',
    );
  });

  it('refuses a bad expression, with its position', () => {
    expect(problem(spec([task('a', { x: 'nodes.b. + 1' })]))).toBe(
      'modules.0.value.input_transforms.x.expr: node a: value.input_transforms.x.expr: bad expression: expected a field name after . (at character 10)',
    );
  });

  it('refuses a bad skip_if expression', () => {
    expect(problem(spec([task('a', {}, { skip_if: { expr: 'input.x ==' } })]))).toBe(
      'modules.0.skip_if.expr: node a: skip_if.expr: bad expression: unexpected end of expression (at character 11)',
    );
  });

  it('refuses a duplicate id, even nested', () => {
    const branch = { id: 'b', value: { type: 'branchone', branches: [{ expr: 'true', modules: [task('a')] }] } };
    expect(problem(spec([task('a'), branch]))).toBe('modules.1.value.branches.0.modules.0.id: node a: duplicate id (also at modules.0)');
  });

  it('refuses item and index outside a forloopflow', () => {
    expect(problem(spec([task('a', { x: 'item.name' })]))).toBe(
      'modules.0.value.input_transforms.x.expr: node a: value.input_transforms.x.expr: item only exists inside a forloopflow',
    );
  });

  it('refuses error outside the failure_module', () => {
    expect(problem(spec([task('a', { x: 'error.message' })]))).toMatch(/node a: .*error only exists inside the failure_module/);
  });

  it('refuses an inner node reading the node it sits in', () => {
    const loop = {
      id: 'l',
      value: { type: 'forloopflow', iterator: { type: 'expr', expr: '[1]' }, modules: [task('i', { x: 'nodes.l' })] },
    };
    expect(problem(spec([loop]))).toMatch(
      /^modules\.0\.value\.modules\.0\.value\.input_transforms\.x\.expr: node i: .*l contains this node/,
    );
  });

  it('refuses retry and timeout on kinds they do not apply to', () => {
    const sleep = { id: 's', retry: { constant: { attempts: 2 } }, value: { type: 'sleep', duration: '1m' } };
    expect(problem(spec([sleep]))).toBe('modules.0.retry: node s: retry: only applies to activity and workflow nodes, not sleep');
    const branch = { id: 'b', timeout: 10, value: { type: 'branchall', branches: [{ modules: [task('x')] }] } };
    expect(problem(spec([branch]))).toMatch(/^modules\.0\.timeout: node b: timeout: only applies to activity and workflow nodes/);
  });

  it('refuses a suspend inside a forloopflow', () => {
    const loop = {
      id: 'l',
      value: {
        type: 'forloopflow',
        iterator: { type: 'expr', expr: '[1]' },
        modules: [{ id: 'ok', value: { type: 'suspend', timeout: 60 } }],
      },
    };
    expect(problem(spec([loop]))).toMatch(/node ok: type: suspend cannot sit inside a forloopflow/);
  });

  it('refuses a local activity with a task queue', () => {
    const local = { id: 'a', value: { type: 'activity', name: 'work', local: true, domain: 'quality' } };
    expect(problem(spec([local]))).toMatch(/^modules\.0\.value\.local: node a: local: a local activity runs on the pipeline's worker/);
  });

  it('refuses a bad duration, a bad retry and a sleep with both duration and until', () => {
    expect(problem(spec([{ id: 'w', value: { type: 'suspend', timeout: 'soon' } }]))).toMatch(
      /node w: must be seconds or a duration like 10m/,
    );
    expect(problem(spec([task('a', {}, { retry: {} })]))).toMatch(
      /^modules\.0\.retry: node a: give exactly one of constant and exponential/,
    );
    expect(problem(spec([{ id: 's', value: { type: 'sleep', duration: '1m', until: "'2030-01-01'" } }]))).toMatch(
      /node s: give exactly one of duration and until/,
    );
  });

  it('refuses JavaScript input transforms: expressions are spokeflow expressions', () => {
    const js = { id: 'a', value: { type: 'activity', name: 'work', input_transforms: { x: { type: 'javascript', expr: 'results.a' } } } };
    expect(problem(spec([js]))).toMatch(
      /^modules\.0\.value\.input_transforms\.x\.type: node a: must be \{ type: static, value \} or \{ type: expr, expr \}/,
    );
  });

  it('refuses an unknown field, an empty pipeline and a bad id', () => {
    expect(problem({ id: 'x', modules: [task('a')], steps: [] })).toMatch(/Unrecognized key: "steps"/);
    expect(problem({ id: 'x', modules: [] })).toBe('modules: a pipeline needs at least one module');
    expect(problem(spec([task('has-dash')]))).toMatch(/^modules\.0\.id: node has-dash: must be a node id/);
  });

  it('refuses, in the registry schema, a workflow node naming an unregistered workflow without a task queue', () => {
    // The pipeline workflow checks this too, before starting anything.
    const entry = workflowEntry('pipelineWorkflow')!;
    expect(entry.input.safeParse(spec([{ id: 'w', value: { type: 'workflow', name: 'syncWorkflow' } }])).success).toBe(true);
    expect(
      entry.input.safeParse(spec([{ id: 'w', value: { type: 'workflow', name: 'teamWorkflow', task_queue: 'team-x' } }])).success,
    ).toBe(true);
    const refused = entry.input.safeParse(spec([{ id: 'w', value: { type: 'workflow', name: 'teamWorkflow' } }]));
    expect(refused.success ? 'ok' : describeIssues(refused.error)).toBe(
      'modules.0.value.name: node w: value.name: teamWorkflow is not a workflow of common/workflows.ts: give value.task_queue for a workflow of your own',
    );
    expect(entry.workflowIdOf(spec([task('a')]))).toBe('pipeline:test');
  });

  it('orders modules after the nodes they read or wait for, keeping spec order otherwise', () => {
    const parsed = PipelineSpec.parse(spec([task('c', { x: 'nodes.b' }), task('a'), task('b', {}, { after: ['a'] }), task('d')]));
    expect(topologicalOrder(parsed.modules).map((m) => m.id)).toEqual(['a', 'b', 'c', 'd']);
  });

  it("sends a task to the queue it names, its domain's queue (overridable), or the pipeline's own", () => {
    expect(queueOf({ task_queue: 'team-x' }, {}, TaskQueue)).toBe('team-x');
    expect(queueOf({ domain: 'quality' }, {}, TaskQueue)).toBe('spokeflow-quality');
    expect(queueOf({ domain: 'quality' }, { quality: 'staging-quality' }, TaskQueue)).toBe('staging-quality');
    expect(queueOf({}, {}, TaskQueue)).toBeUndefined();
    const sync = workflowEntry('syncWorkflow')!;
    expect([sync.domain, sync.workflowIdOf({ dataset: 'shop.orders' })]).toEqual(['ingestion', 'sync:shop.orders']);
  });

  it("maps Windmill's retry shape to Temporal's policy (attempts are retries)", () => {
    expect(retryPolicyOf({ constant: { attempts: 2, seconds: 5 } })).toEqual({
      maximumAttempts: 3,
      initialInterval: 5_000,
      backoffCoefficient: 1,
    });
    expect(retryPolicyOf({ exponential: { attempts: 4, seconds: 1, multiplier: 3, max_seconds: 60 } })).toEqual({
      maximumAttempts: 5,
      initialInterval: 1_000,
      backoffCoefficient: 3,
      maximumInterval: 60_000,
    });
    expect(retryPolicyOf(undefined).maximumAttempts).toBe(3);
  });

  it('builds a re-run input from a failed run, keeping the spec', () => {
    const input: PipelineSpecInput = { id: 'p', modules: [{ id: 'a', value: { type: 'activity', name: 'work' } }] };
    expect(resumeInput(input, { failedNode: 'b', message: 'x', outputs: { a: { rows: 1 } }, runId: 'r1' })).toEqual({
      ...input,
      resume_from: { outputs: { a: { rows: 1 } }, run_id: 'r1' },
    });
  });

  it('exports a JSON Schema naming the node kinds', () => {
    const text = JSON.stringify(pipelineJsonSchema());
    for (const kind of ['forloopflow', 'branchone', 'branchall', 'suspend', 'failure_module', 'input_transforms'])
      expect(text).toContain(kind);
  });

  it('accepts the nightly pipeline that ships in pipelines/', () => {
    const nightly = parseYaml(readFileSync(new URL('../../pipelines/nightly.yaml', import.meta.url), 'utf8')) as unknown;
    const result = workflowEntry('pipelineWorkflow')!.input.safeParse(nightly);
    expect(result.success ? 'ok' : describeIssues(result.error)).toBe('ok');
    const spec = result.data as { modules: { id: string }[] };
    expect(topologicalOrder(PipelineSpec.parse(nightly).modules).map((m) => m.id)).toEqual([
      'datasets',
      'sync',
      'quality_checks',
      'anomaly_scan',
      'health',
      'embeddings',
      'digest',
    ]);
    expect(spec.modules).toHaveLength(7);
    // The checks gate the index of the synced data, not the steps that report on the night.
    const deps = siblingDependencies(PipelineSpec.parse(nightly).modules);
    expect(PipelineSpec.parse(nightly).modules.find((m) => m.id === 'quality_checks')?.value).toEqual({ type: 'checks' });
    expect([deps.get('quality_checks'), deps.get('embeddings'), deps.get('digest')]).toEqual([['sync'], ['quality_checks'], ['health']]);
    // Every child's static input is valid for the workflow it starts (checked again at run time).
    for (const m of PipelineSpec.parse(nightly).modules) {
      if (m.value.type !== 'workflow') continue;
      const input = Object.fromEntries(Object.entries(m.value.input_transforms).map(([k, t]) => [k, t.type === 'static' ? t.value : null]));
      const checked = workflowEntry(m.value.name)!.input.safeParse(input);
      expect(checked.success ? `${m.id} ok` : `${m.id}: ${describeIssues(checked.error)}`).toBe(`${m.id} ok`);
    }
  });

  it('declares the nightly schedule beside it, with a valid spec and input', () => {
    const nightly = PIPELINE_SCHEDULES.find((d) => d.id === 'pipeline:nightly')!;
    expect(nightly.workflowType).toBe('pipelineWorkflow');
    expect((nightly.input as { id: string }).id).toBe('nightly');
    expect(ScheduleSpec.safeParse(nightly.spec).success).toBe(true);
    const input = workflowEntry('pipelineWorkflow')!.input.safeParse(nightly.input);
    expect(input.success ? 'ok' : describeIssues(input.error)).toBe('ok');
  });
});
