import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { WORKFLOW_TYPES } from '../../common/workflows.js';

/** The CLI as a person runs it; every case here fails before anything connects anywhere. */
function spokeflow(...args: string[]): { code: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, ['bin/spokeflow.js', ...args], { encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('the spokeflow CLI', () => {
  it('names the workflows it knows when given another', () => {
    const r = spokeflow('run', 'dropEverythingWorkflow');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`spokeflow: unknown workflow "dropEverythingWorkflow": one of ${WORKFLOW_TYPES.join(', ')}`);
    expect(WORKFLOW_TYPES).toEqual(
      expect.arrayContaining(['syncWorkflow', 'backfillWorkflow', 'anomalyScanWorkflow', 'healthScoringWorkflow']),
    );
  });

  it('rejects bad input with every field named, in one line', () => {
    const r = spokeflow('run', 'syncWorkflow', '--input', '{"dataset":"Shop Orders","mode":"sideways"}');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('invalid syncWorkflow input: dataset: must be lower-case words');
    expect(r.stderr).toContain('mode: Invalid option: expected one of "incremental"|"full"');
  });

  it('says when the input is not JSON or YAML at all', () => {
    const r = spokeflow('run', 'backfillWorkflow', '--input', '{dataset: [');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('spokeflow: input is neither JSON nor YAML');
  });

  it('checks a backfill range before starting anything', () => {
    const r = spokeflow('backfill', 'shop.orders', '--from', '2024-03-01', '--to', '2024-02-01');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('spokeflow: invalid backfillWorkflow input: to: must be after from');
  });

  it('exports the JSON Schema of an input from its zod schema', () => {
    const r = spokeflow('schema', 'syncWorkflow');
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { properties: Record<string, { enum?: string[]; description?: string }>; required: string[] };
    expect(schema.required).toEqual(['dataset']);
    expect(schema.properties.mode?.enum).toEqual(['incremental', 'full']);
    expect(schema.properties.dataset?.description).toContain('catalog name of the dataset');
  });
});

describe('spokeflow flows validate', () => {
  it('accepts a flow file and lists its unresolved script paths', () => {
    const r = spokeflow('flows', 'validate', 'test/fixtures/openflow/sequential-scripts.yaml');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid: test/fixtures/openflow/sequential-scripts.yaml (Rank suppliers)');
    expect(r.stdout).toContain('unresolved script path: f/supply/rank');
  });

  it('fails with --strict on unresolved script paths', () => {
    const r = spokeflow('flows', 'validate', '--strict', 'test/fixtures/openflow/sequential-scripts.yaml');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("script path 'f/supply/load_suppliers' is not resolved (--strict)");
  });

  it('exits 1 naming the step and the field', () => {
    const r = spokeflow('flows', 'validate', 'test/fixtures/openflow/bad/go-step.yaml');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("test/fixtures/openflow/bad/go-step.yaml: step 'c': rawscript language 'go' is not supported");
  });
});
