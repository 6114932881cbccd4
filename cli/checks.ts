import type { Command } from 'commander';
import { createCheckResultStore, type StoredCheckResult } from '../activities/catalog/check-results.js';
import { createDatasetCatalog } from '../activities/catalog/datasets.js';
import { checksJsonSchema, type CheckDeclaration, type QualityChecksResult } from '../common/checks.js';
import type { DatasetDeclaration } from '../common/dataset.js';
import { createClients } from '../runtime/clients.js';
import { loadConfig } from '../runtime/config.js';
import { undeclaredDatasets } from './preflight.js';
import { runWorkflow, UsageError } from './run.js';

/** A dataset's declaration and each check's latest result, or a UsageError naming what is wrong. */
async function readChecks(dataset: string): Promise<{ declaration: DatasetDeclaration; latest: StoredCheckResult[] }> {
  const clients = createClients(loadConfig());
  try {
    const undeclared = await undeclaredDatasets(clients.catalog, [dataset]);
    if (undeclared) throw new UsageError(undeclared);
    const declaration = await createDatasetCatalog(clients.catalog).get(dataset);
    if (!declaration.checks?.length) {
      throw new UsageError(
        `dataset ${dataset} declares no checks: add a \`checks:\` list to its declaration (\`spokeflow checks schema\` gives the fields) and apply it`,
      );
    }
    return { declaration, latest: await createCheckResultStore(clients.catalog).latest(dataset) };
  } finally {
    await clients.close();
  }
}

/** What a check asserts, in a few words. */
function ruleOf(c: CheckDeclaration): string {
  switch (c.kind) {
    case 'unique':
      return `unique (${c.columns.join(', ')})`;
    case 'relationship':
      return `${c.column} → ${c.to.dataset}.${c.to.column}`;
    case 'freshness':
      return `${c.column ?? 'cursor'} newer than ${c.max_age}`;
    case 'row_count':
      return `rows in [${c.min ?? '…'}, ${c.max ?? '…'}]`;
    case 'schema':
      return `${c.columns.length} columns`;
    case 'sql':
      return 'owner query';
    case 'range':
      return `${c.column} in ${c.min_inclusive ? '[' : '('}${c.min ?? '…'}, ${c.max ?? '…'}${c.max_inclusive ? ']' : ')'}`;
    case 'accepted_values':
      return `${c.column} in ${c.values.length} values`;
    default:
      return c.column;
  }
}

/** One line per check, columns aligned: what a person scans for in a terminal. */
function formatChecks(checks: CheckDeclaration[], resultOf: (id: string) => StoredCheckResult | undefined): string {
  const header = ['CHECK', 'KIND', 'SEVERITY', 'STATUS', 'FAILING', 'RULE', 'CHECKED', 'NOTE'];
  const rows = checks.map((c) => {
    const r = resultOf(c.id);
    return [
      c.id,
      c.kind,
      `${c.severity}${c.blocking ? ' blocking' : ''}`,
      r?.status ?? 'never run',
      r?.failing === null || r?.failing === undefined ? '' : String(r.failing),
      ruleOf(c),
      r?.checkedAt?.slice(0, 19) ?? '',
      r ? (r.error ?? r.details ?? (r.sampleKey ? `sample ${r.sampleKey}` : '')) : '',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `spokeflow checks schema | list | run`. */
export function addChecksCommands(program: Command): void {
  const checks = program.command('checks').description("data-quality checks declared in a dataset's `checks:` list");
  checks
    .command('schema')
    .description('print the JSON Schema of a `checks:` list (for editors and docs)')
    .action(() => {
      console.log(JSON.stringify(checksJsonSchema(), null, 2));
    });
  checks
    .command('list')
    .argument('<dataset>', 'catalog name of the dataset, e.g. shop.orders')
    .description("a dataset's declared checks with each one's latest result")
    .action(async (dataset: string) => {
      const { declaration, latest } = await readChecks(dataset);
      const byId = new Map(latest.map((r) => [r.checkId, r]));
      console.log(formatChecks(declaration.checks!, (id) => byId.get(id)));
    });
  checks
    .command('run')
    .argument('<dataset>', 'catalog name of the dataset, e.g. shop.orders')
    .option('--check <id...>', 'only these checks')
    .option('--task-queue <name>', "another task queue than the quality domain's (a canary worker, say)")
    .option('--no-wait', 'start even when no worker polls the task queue (the run waits for one)')
    .description("run a dataset's checks now (qualityChecksWorkflow) and print each result; exit 1 when a check of severity error fails")
    .action(async (dataset: string, o: { check?: string[]; taskQueue?: string; wait: boolean }) => {
      const { declaration } = await readChecks(dataset);
      const declared = declaration.checks!.map((c) => c.id);
      const unknown = (o.check ?? []).filter((id) => !declared.includes(id));
      if (unknown.length)
        throw new UsageError(`--check ${unknown.join(', ')}: not declared on ${dataset} (it declares ${declared.join(', ')})`);
      const result = (await runWorkflow(
        'qualityChecksWorkflow',
        { dataset, ...(o.check ? { checks: o.check } : {}) },
        { follow: true, requireWorker: o.wait, ...(o.taskQueue ? { taskQueue: o.taskQueue } : {}) },
      )) as QualityChecksResult;
      const clients = createClients(loadConfig());
      const stored = await createCheckResultStore(clients.catalog)
        .ofRun(result.runId, dataset)
        .finally(() => clients.close());
      const byId = new Map(stored.map((r) => [r.checkId, r]));
      console.log(
        formatChecks(
          declaration.checks!.filter((c) => byId.has(c.id)),
          (id) => byId.get(id),
        ),
      );
      console.log(
        `${result.checks} checks: ${result.passed} passed, ${result.failed} failed, ${result.errored} errored (run ${result.runId})`,
      );
      const severe = stored.filter((r) => r.severity === 'error' && r.status !== 'passed');
      if (severe.length) process.exitCode = 1;
    });
}
