import type { Domain } from '../common/task-queues.js';
import { startWorkerProcess, type WorkerEntry } from './support/worker-process.js';

/**
 * npx tsx bench/worker-idle.ts [domain…] [--entry=dist|source] [--settle=5] [-- node flags…]
 *
 * Starts each domain's worker on its own, as production does, lets it poll `settle` seconds with
 * no load, and prints its resident set. The knowledge worker's model loads on first use, so its
 * idle figure is without the model (bench:embeddings states it with the model).
 */
const DOMAINS: Domain[] = ['ingestion', 'quality', 'notifications', 'knowledge'];
const dash = process.argv.indexOf('--');
const own = dash < 0 ? process.argv.slice(2) : process.argv.slice(2, dash);
const nodeOptions = dash < 0 ? [] : process.argv.slice(dash + 1);
const flag = (name: string) => own.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const entry = (flag('entry') ?? 'dist') as WorkerEntry;
const settleMs = Number(flag('settle') ?? 5) * 1000;
const domains = own.filter((a) => !a.startsWith('--')) as Domain[];

async function run(): Promise<void> {
  for (const domain of domains.length ? domains : DOMAINS) {
    const worker = await startWorkerProcess(domain, `bench-worker-idle-${domain}-${Date.now()}`, { entry, nodeOptions });
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const settled = worker.rssMiB() ?? 0;
    const { peakRssMiB } = await worker.stop();
    console.log(
      `${domain.padEnd(13)} ${worker.entry.padEnd(6)} at polling ${Math.round(worker.idleRssMiB)} MiB, ` +
        `after ${settleMs / 1000} s ${Math.round(settled)} MiB, peak ${Math.round(peakRssMiB)} MiB${nodeOptions.length ? `  (${nodeOptions.join(' ')})` : ''}`,
    );
  }
}

run().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
