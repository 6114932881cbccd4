import { log } from '@temporalio/activity';
import type { Pool } from 'mysql2/promise';
import { z } from 'zod';
import { parseInput } from '../../common/errors.js';
import { createDatasetCatalog } from '../catalog/datasets.js';

const LogEventInput = z
  .object({
    level: z.enum(['info', 'warn', 'error']).default('info'),
    message: z.string().min(1).max(5_000),
    fields: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

const ListDatasetsInput = z
  .object({
    team: z.string().optional().describe("only this team's datasets"),
    tag: z.string().optional().describe('only datasets with this tag'),
    prefix: z.string().optional().describe('only names starting with this, like shop.'),
  })
  .strict();

/**
 * Activities every pipeline worker has: small catalog reads a spec typically starts from. They
 * return names and counts only, so a for-each over them keeps the pipeline's history small.
 */
export function createPipelineActivities(deps: { catalog: Pool }) {
  const datasets = createDatasetCatalog(deps.catalog);
  return {
    /** Dataset names of the catalog, filtered by team, tag or name prefix: `{ names, count }`. */
    async listDatasets(raw: unknown = {}): Promise<{ names: string[]; count: number }> {
      const input = parseInput(ListDatasetsInput, raw ?? {}, 'listDatasets input');
      const names = (await datasets.list())
        .filter((d) => (input.team === undefined || d.team === input.team) && (input.tag === undefined || d.tags.includes(input.tag)))
        .map((d) => d.name)
        .filter((name) => input.prefix === undefined || name.startsWith(input.prefix));
      return { names, count: names.length };
    },

    /** A structured line in the worker's log (with the workflow and activity ids): for failure modules and markers. */
    async logPipelineEvent(raw: unknown): Promise<{ logged: true }> {
      const input = parseInput(LogEventInput, raw, 'logPipelineEvent input');
      log[input.level](input.message, input.fields);
      return { logged: true };
    },
  };
}
export type PipelineActivities = ReturnType<typeof createPipelineActivities>;
