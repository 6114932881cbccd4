import type { SimplePlugin } from '@temporalio/plugin';
import type { Worker } from '@temporalio/worker';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Embedder } from '../../activities/vectors/embedder.js';
import { createClients, type Clients } from '../../runtime/clients.js';
import { loadConfig } from '../../runtime/config.js';
import { knowledgePlugin } from '../../workers/knowledge-plugin.js';
import type { PluginOptions } from '../../workers/plugin-options.js';
import { notificationsPlugin } from '../../workers/notifications-plugin.js';
import { pipelinePlugin, withPipelines } from '../../workers/pipeline-plugin.js';
import { ingestionPlugin } from '../../workers/plugins.js';
import { qualityPlugin } from '../../workers/quality-plugin.js';

// The real factories, wrapped so that the test sees what each plugin opened and whether it closed it.
const made = vi.hoisted(() => {
  const things: { what: string; thing: object; closed: boolean }[] = [];
  function recorded<A extends unknown[], T extends object>(what: string, factory: (...args: A) => T, closeName = 'close') {
    return (...args: A): T => {
      const thing = factory(...args);
      const entry = { what, thing, closed: false };
      things.push(entry);
      const methods = thing as Record<string, (...a: unknown[]) => unknown>;
      const close = methods[closeName]!.bind(thing);
      methods[closeName] = async (...a: unknown[]) => {
        const result = await close(...a);
        entry.closed = true;
        return result;
      };
      return thing;
    };
  }
  return { things, recorded };
});

vi.mock('../../runtime/clients.js', async (original) => {
  const real = await original<typeof import('../../runtime/clients.js')>();
  return { ...real, createClients: made.recorded('clients', real.createClients) };
});
vi.mock('../../activities/sources/index.js', async (original) => {
  const real = await original<typeof import('../../activities/sources/index.js')>();
  return { ...real, createSourceConnections: made.recorded('source pools', real.createSourceConnections, 'closeAll') };
});
vi.mock('../../activities/ingestion/parquet-encoder.js', async (original) => {
  const real = await original<typeof import('../../activities/ingestion/parquet-encoder.js')>();
  return { ...real, createParquetEncoder: made.recorded('parquet thread', real.createParquetEncoder) };
});
vi.mock('../../activities/quality/series-scorer.js', async (original) => {
  const real = await original<typeof import('../../activities/quality/series-scorer.js')>();
  return { ...real, createThreadScorer: made.recorded('scoring thread', real.createThreadScorer) };
});
vi.mock('../../activities/vectors/providers.js', async (original) => {
  const real = await original<typeof import('../../activities/vectors/providers.js')>();
  return { ...real, createEmbedder: made.recorded('embedder', real.createEmbedder) };
});
vi.mock('../../activities/notify/senders.js', async (original) => {
  const real = await original<typeof import('../../activities/notify/senders.js')>();
  return { ...real, createSmtpSender: made.recorded('smtp pool', real.createSmtpSender) };
});

// Nothing here connects: pools open connections on first use, and no activity runs.
const base = loadConfig();
const config = { ...base, digests: { ...base.digests, smtpUrl: 'smtp://127.0.0.1:2525' } };

/** Both store pools of a client set have been ended (so their connections are gone). */
function poolsEnded(clients: Clients): boolean {
  const catalogClosed = (clients.catalog.pool as unknown as { _closed: boolean })._closed;
  return catalogClosed && clients.postgres.ended;
}

/** What the plugin's worker does, minus the worker: its run context around a run. */
async function runWorker(plugin: SimplePlugin, run: () => Promise<void> = () => Promise.resolve()): Promise<void> {
  await plugin.runWorker({} as Worker, run);
}

function opened(what: string) {
  return made.things.filter((t) => t.what === what);
}

afterEach(() => {
  made.things.length = 0;
});

describe('a plugin closes what it opened when its worker stops', () => {
  const plugins: [string, (options: PluginOptions) => SimplePlugin, string[]][] = [
    ['ingestion', ingestionPlugin, ['source pools', 'parquet thread']],
    ['ingestion with pipelines', withPipelines(ingestionPlugin), ['source pools', 'parquet thread']],
    ['quality', qualityPlugin, ['scoring thread']],
    ['knowledge', knowledgePlugin, ['embedder']],
    ['notifications', notificationsPlugin, ['smtp pool']],
    ['pipelines', pipelinePlugin, []],
  ];

  it.each(plugins)('%s, given no clients: its own clients and resources are closed', async (_name, create, resources) => {
    const plugin = create({ config });
    expect(made.things.map((t) => t.what).sort()).toEqual(['clients', ...resources].sort());
    expect(made.things.filter((t) => t.closed)).toEqual([]);

    await runWorker(plugin);

    expect(made.things.filter((t) => !t.closed).map((t) => t.what)).toEqual([]);
    for (const { thing } of opened('clients')) expect(poolsEnded(thing as Clients)).toBe(true);
  });

  it.each(plugins)('%s, given the caller’s clients: they stay open, its own resources are closed', async (_name, create, resources) => {
    const clients = createClients(config);
    made.things.length = 0;
    const plugin = create({ config, clients });
    expect(made.things.map((t) => t.what).sort()).toEqual([...resources].sort());

    await runWorker(plugin);

    expect(made.things.filter((t) => !t.closed).map((t) => t.what)).toEqual([]);
    expect(poolsEnded(clients)).toBe(false);
    await clients.close();
  });

  it('closes them when the worker fails too, and reports the worker’s error', async () => {
    const plugin = qualityPlugin({ config });
    await expect(runWorker(plugin, () => Promise.reject(new Error('worker crashed')))).rejects.toThrow('worker crashed');
    expect(made.things.filter((t) => !t.closed).map((t) => t.what)).toEqual([]);
    expect(poolsEnded(opened('clients')[0]!.thing as Clients)).toBe(true);
  });

  it('leaves an embedder the caller injected open', async () => {
    const embedder: Embedder = {
      model: 'test',
      modelVersion: 'test',
      dimensions: 384,
      embed: () => Promise.resolve([]),
      close: vi.fn(() => Promise.resolve()),
    };
    await runWorker(knowledgePlugin({ config, embedder }));
    expect(embedder.close).not.toHaveBeenCalled();
    expect(opened('embedder')).toEqual([]);
  });
});
