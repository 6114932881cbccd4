import { Command } from 'commander';
import { runScheduleCommand } from './command.js';

/** `npx tsx schedules/apply-cli.ts [--dry-run] [--prune]`: makes Temporal's schedules match the registry. */
async function run(): Promise<void> {
  const options = new Command('schedules-apply')
    .description("make Temporal's schedules match schedules/registry.ts (idempotent)")
    .option('--dry-run', 'print what would change and change nothing')
    .option('--prune', 'delete managed schedules that are no longer declared')
    .option('--prefix <prefix>', 'schedule id prefix (and the only ids prune may delete)')
    .parse()
    .opts<{ dryRun?: boolean; prune?: boolean; prefix?: string }>();
  const result = await runScheduleCommand('apply', options);
  if (result.command !== 'list' && result.diff.conflicts.length) process.exitCode = 1;
}

run().catch((err: unknown) => {
  console.error(`schedules apply: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
