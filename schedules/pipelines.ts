import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { packageFile } from '../runtime/package-paths.js';
import type { ScheduleDeclarationInput } from './schema.js';

const PIPELINES_DIR = packageFile('pipelines/');

/**
 * The schedules of pipelines/schedules.yaml as declarations: each `pipeline: <file>` becomes
 * `workflowType: pipelineWorkflow` with that spec as its input (schedulable in common/workflows.ts);
 * PLATFORM_SCHEDULES applies them with the others through `...PIPELINE_SCHEDULES`.
 */
export function pipelineSchedules(file = new URL('schedules.yaml', PIPELINES_DIR)): ScheduleDeclarationInput[] {
  const raw = parseYaml(readFileSync(file, 'utf8')) as ({ pipeline?: unknown } & Record<string, unknown>)[];
  return raw.map(({ pipeline, ...declaration }) => {
    if (typeof pipeline !== 'string' || !/^[a-z0-9._-]+\.ya?ml$/.test(pipeline)) {
      throw new Error(`${String(declaration.id)}: pipeline: must name a spec file of pipelines/, like nightly.yaml`);
    }
    const input = parseYaml(readFileSync(new URL(pipeline, PIPELINES_DIR), 'utf8')) as unknown;
    return { ...declaration, workflowType: 'pipelineWorkflow', input } as ScheduleDeclarationInput;
  });
}

export const PIPELINE_SCHEDULES: readonly ScheduleDeclarationInput[] = pipelineSchedules();
