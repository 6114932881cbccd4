import { describe, expect, it } from 'vitest';
import { readFlow } from '../../cli/flow-files.js';
import { FEATURES, featureTable } from '../../common/openflow/features.js';
import { compileInputSchema } from '../../common/openflow/input-schema.js';
import { checkFlow } from '../../common/openflow/validate.js';

const fixture = (name: string): string => `test/fixtures/openflow/${name}`;

describe('OpenFlow files as Windmill writes them', () => {
  it('accepts scripts by path and lists their paths as unresolved', async () => {
    const r = await readFlow(fixture('sequential-scripts.yaml'));
    expect(r.problems).toEqual([]);
    expect(r.scriptPaths).toEqual(['f/supply/load_suppliers', 'f/supply/rank']);
    expect(r.flow?.value.modules.map((m) => m.id)).toEqual(['load', 'rank']);
  });

  it('reads a synced .flow folder, resolving quoted and tagged !inline files', async () => {
    const r = await readFlow(fixture('orders.flow'));
    expect(r.problems).toEqual([]);
    const loop = r.flow?.value.modules[0]?.value;
    expect(loop?.type).toBe('forloopflow');
    const step = loop?.type === 'forloopflow' ? loop.modules[0]?.value : undefined;
    expect(step?.type === 'rawscript' && step.content).toContain('export async function main(day: string)');
    expect(step?.type === 'rawscript' && step.lock).toBe('{}\n');
  });

  it('accepts retry, sleep, suspend, failure and preprocessor modules and flow concurrency', async () => {
    const r = await readFlow(fixture('retry-suspend-sleep.yaml'));
    expect(r.problems).toEqual([]);
    expect(r.flow?.value.failure_module?.id).toBe('failure');
    expect(r.flow?.value.modules[0]?.retry).toMatchObject({ exponential: { random_factor: 10 } });
  });

  it('ignores editor notes and groups, which change nothing at run time', async () => {
    expect((await readFlow(fixture('notes-groups.yaml'))).problems).toEqual([]);
  });

  it('reads the older JSON shape: no ids, input_transforms beside value', async () => {
    const r = await readFlow(fixture('legacy.flow.json'));
    expect(r.problems).toEqual([]);
    expect(r.flow?.value.modules.map((m) => m.id)).toEqual(['a', 'b']);
    const second = r.flow?.value.modules[1]?.value;
    expect(second?.type === 'script' && second.input_transforms).toEqual({ n: { type: 'static', value: 100 } });
  });

  it('accepts a whileloopflow with a stop condition and the step options around it', async () => {
    expect((await readFlow(fixture('while-stop.yaml'))).problems).toEqual([]);
  });
});

describe('refusals name the step and the field', () => {
  it('refuses a rawscript language that cannot run', async () => {
    expect((await readFlow(fixture('bad/go-step.yaml'))).problems).toEqual(["step 'c': rawscript language 'go' is not supported"]);
  });

  it('refuses every behaviour-changing field it cannot honour', async () => {
    const { problems } = await readFlow(fixture('bad/refused-options.yaml'));
    expect(problems).toEqual([
      'value.flow_env: flow environment variables are not passed to steps',
      "step 'a': retry.retry_if: conditional retries are not implemented",
      "step 'b': suspend.user_groups_required: approver groups are not checked",
      "step 'spin': whileloopflow needs a stop_after_if (on the loop or one of its steps)",
      "step 'agent': value.type 'aiagent': AI agent steps are not implemented",
    ]);
  });

  it('names the step of a structural error', async () => {
    const { problems } = await readFlow(fixture('bad/structure.yaml'));
    expect(problems[0]).toMatch(/^step 'd': value\.modules\.0\.value\.path: /);
    expect(problems[1]).toContain("step 'e'");
    expect(problems[1]).toContain('unknown step type "teleport"');
  });

  it('refuses a synced folder whose !inline file is missing', async () => {
    const { problems } = await readFlow(fixture('bad/missing-inline.flow'));
    expect(problems).toEqual([`inline script 'a.bun.ts' not found in ${fixture('bad/missing-inline.flow')}`]);
  });

  it('refuses a resume form whose schema does not compile, naming step and field', () => {
    const bad = checkFlow({
      summary: '',
      value: { modules: [{ id: 'ok', value: { type: 'identity' }, suspend: { resume_form: { schema: { type: 'nope' } } } }] },
    });
    expect(bad.problems).toHaveLength(1);
    expect(bad.problems[0]).toMatch(/^step 'ok': suspend\.resume_form\.schema: not a JSON Schema ajv compiles: /);
  });

  it('refuses an early_return that names no top-level step', () => {
    const inner = checkFlow({
      summary: '',
      value: {
        early_return: 'deep',
        modules: [
          {
            id: 'loop',
            value: { type: 'forloopflow', iterator: { type: 'static', value: [] }, modules: [{ id: 'deep', value: { type: 'identity' } }] },
          },
        ],
      },
    });
    expect(inner.problems).toEqual(["value.early_return: 'deep' is not a step of value.modules (the top-level list)"]);
  });

  it('refuses duplicate step ids', async () => {
    const dup = checkFlow({
      summary: '',
      value: {
        modules: [
          { id: 'x', value: { type: 'identity' } },
          { id: 'x', value: { type: 'identity' } },
        ],
      },
    });
    expect(dup.problems).toEqual(["step 'x': id is used by another step"]);
  });

  it("accepts the flow row shape of Windmill's backend test fixtures: a squashed loop of inline bun steps given flow_input.iter", async () => {
    // Shape of f/system/dedicated_flow_runners (windmill-labs/windmill backend/tests/fixtures/dedicated_flows.sql), our own steps.
    expect((await readFlow(fixture('run/squash-loop.yaml'))).problems).toEqual([]);
    const row = {
      summary: '',
      value: {
        modules: [
          {
            id: 'loop',
            value: {
              type: 'forloopflow',
              iterator: { type: 'javascript', expr: '[2, 4]' },
              skip_failures: false,
              parallel: false,
              squash: true,
              modules: [
                {
                  id: 'half',
                  value: {
                    type: 'rawscript',
                    language: 'bun',
                    content: 'export function main(iter: { value: number }) { return iter.value / 2 }',
                    input_transforms: { iter: { type: 'javascript', expr: 'flow_input.iter' } },
                    lock: '{}\n//bun.lock\n<empty>',
                  },
                },
              ],
            },
          },
        ],
      },
      schema: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: {}, required: [] },
    };
    expect(checkFlow(row).problems).toEqual([]);
  });

  it('keeps every refused feature with a reason in the one table', () => {
    const refused = featureTable().filter((f) => f.status === 'refused');
    expect(refused.length).toBeGreaterThan(0);
    for (const f of refused) expect(f.reason).toBeTruthy();
    expect(FEATURES['type.forloopflow'].status).toBe('runs');
    expect(FEATURES['type.whileloopflow'].status).toBe('runs');
  });
});

describe("a flow's input schema", () => {
  it('validates a run input with ajv, naming the field', async () => {
    const r = await readFlow(fixture('sequential-scripts.yaml'));
    const validate = compileInputSchema(r.flow?.schema);
    expect(validate({ region: 'emea', limit: 3 })).toEqual([]);
    expect(validate({ region: 'mars' })).toEqual(['region: must be equal to one of the allowed values']);
    expect(validate({ limit: 0 })).toEqual(expect.arrayContaining(["region: must have required property 'region'", 'limit: must be >= 1']));
  });

  it('checks formats (ajv-formats)', async () => {
    const r = await readFlow(fixture('orders.flow'));
    const validate = compileInputSchema(r.flow?.schema);
    expect(validate({ days: ['2026-12-01'] })).toEqual([]);
    expect(validate({ days: ['yesterday'] })).toEqual(['days.0: must match format "date"']);
  });
});
