import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_SEARCH_ATTRIBUTES } from '../../common/search-attributes.js';
import type { SyncResult } from '../../common/sync.js';
import { startCodecServer } from '../../cli/codec-server.js';
import { codecKeyring, EncryptionCodec } from '../../runtime/codec.js';
import { connectWorker } from '../../runtime/temporal.js';
import { DOMAIN_PLUGINS } from '../../workers/plugins.js';
import { CHROMIUM_ARGS, findChromium } from '../support/chromium.js';
import { openHarness, WorkflowFailedError, type Harness } from '../support/harness.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TEMPORAL_CLI = path.join(REPO_ROOT, '.stack/py/bin/temporal'); // installed by infra/local/stack.sh
const SCREENSHOT = '/tmp/spokeflow-codec-web-ui.png';
const run = promisify(execFile);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Every {metadata, data} payload of a history as `temporal workflow show --output json` prints it,
 * by where it is. Search attributes are left out: the server indexes them, so no codec touches them.
 */
function payloadsIn(node: unknown, at = '', found = new Map<string, Payload>()): Map<string, Payload> {
  if (!node || typeof node !== 'object') return found;
  const o = node as { metadata?: Record<string, unknown>; data?: unknown };
  if (o.metadata && typeof o.metadata.encoding === 'string' && typeof o.data === 'string') {
    const bytes = (s: unknown) => new Uint8Array(Buffer.from(String(s), 'base64'));
    found.set(at, { metadata: Object.fromEntries(Object.entries(o.metadata).map(([k, v]) => [k, bytes(v)])), data: bytes(o.data) });
  }
  // Search attributes are indexed in the clear; a patch marker holds only the patch's name, which
  // the SDK writes without the codec. The canary check below still reads both.
  for (const [k, v] of Object.entries(node)) if (k !== 'searchAttributes' && k !== 'patch-data') payloadsIn(v, `${at}.${k}`, found);
  return found;
}

/** Every string of the JSON, as it is and read as base64: plain text hides in neither. */
function textsIn(node: unknown, found: string[] = []): string[] {
  if (typeof node === 'string') found.push(node, Buffer.from(node, 'base64').toString('latin1'));
  else if (node && typeof node === 'object') Object.values(node).forEach((n) => textsIn(n, found));
  return found;
}

/** The messages of an error and its causes, one per line. */
function failureMessages(err: unknown): string {
  const messages: string[] = [];
  for (let e = err as Error | undefined; e; e = e.cause as Error | undefined) messages.push(e.message);
  return messages.join('\n');
}

const chromiumPath = findChromium();

describe('payloads encrypted at rest, decoded for an operator through the codec server', () => {
  const tag = `c${randomUUID().slice(0, 8)}`;
  // The canary shares nothing with dataset names or ids, which Temporal keeps in plain text by design.
  const canary = `canary${randomBytes(6).toString('hex')}`;
  const owner = `${canary}@owners.example`;
  const good = `codec_${tag}.orders`;
  const broken = `codec_${tag}.broken`;
  const token = randomBytes(16).toString('hex');
  const keys = `k1:${randomBytes(32).toString('base64')}`;
  const codec = new EncryptionCodec(codecKeyring({ keys })!);
  const savedEnv = { ...process.env };
  let temporal: ChildProcess;
  let address: string;
  let uiUrl: string;
  let codecUrl: string;
  let codecServer: Server;
  let h: Harness;
  let worker: Worker;
  let running: Promise<void>;
  let synced: SyncResult;
  const histories = new Map<string, unknown>();

  const showHistory = async (workflowId: string) => {
    const { stdout } = await run(
      TEMPORAL_CLI,
      ['workflow', 'show', '--workflow-id', workflowId, '--address', address, '--output', 'json'],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return JSON.parse(stdout) as unknown;
  };

  beforeAll(async () => {
    const [grpcPort, uiPort, codecPort] = [await freePort(), await freePort(), await freePort()];
    address = `127.0.0.1:${grpcPort}`;
    uiUrl = `http://127.0.0.1:${uiPort}`;
    codecUrl = `http://127.0.0.1:${codecPort}`;
    Object.assign(process.env, {
      TEMPORAL_ADDRESS: address,
      TEMPORAL_UI_URL: uiUrl,
      SPOKEFLOW_CODEC_KEYS: keys,
      SPOKEFLOW_CODEC_SERVER_TOKEN: token,
      SPOKEFLOW_CODEC_SERVER_ORIGINS: uiUrl,
    });
    // A dev server of its own (in memory): its UI is the one pointed at the codec server.
    const searchAttributes = ALL_SEARCH_ATTRIBUTES.flatMap((k) => [
      '--search-attribute',
      `${k.name}=${k.type === 'INT' ? 'Int' : 'Keyword'}`,
    ]);
    temporal = spawn(
      TEMPORAL_CLI,
      [
        ...['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(grpcPort), '--ui-port', String(uiPort)],
        ...['--ui-codec-endpoint', codecUrl, '--log-level', 'warn', '--ui-disable-news-fetch', ...searchAttributes],
      ],
      { stdio: 'ignore' },
    );
    h = await openHarness({ inProcessWorker: false }); // its config is read from the environment above
    codecServer = await startCodecServer(h.config, { host: '127.0.0.1', port: codecPort });
    await until('the dev server', async () => {
      const c = await Connection.connect({ address, connectTimeout: 1_000 });
      await c.close();
      return true;
    });
    await until('the Web UI', async () => ((await fetch(uiUrl)).ok ? true : undefined));

    await h.postgres.query(`
      CREATE TABLE public.codec_${tag} AS
        SELECT g AS id, timestamp '2024-01-01' + g * interval '1 minute' AS updated_at FROM generate_series(1, 3) g`);
    const source = (query: string) => ({
      kind: 'postgres' as const,
      connection: 'local-postgres',
      query,
      primaryKey: ['id'],
      cursor: 'updated_at',
    });
    const declared = { owner, team: `codec-${tag}`, description: `orders of the ${canary} programme` };
    // The canary rides in the plan (the source query) of one sync and in the error of the other.
    await h.datasets.upsert({
      ...declared,
      name: good,
      source: source(`SELECT id, updated_at, '${canary}' AS note FROM public.codec_${tag}`),
      target: { table: `codec_${tag}` },
    });
    await h.datasets.upsert({
      ...declared,
      name: broken,
      source: source(`SELECT id, updated_at, ${canary}_col FROM public.codec_${tag}`),
      target: { table: `codec_${tag}_broken` },
    });

    const plugin = (domain: 'ingestion' | 'notifications') => DOMAIN_PLUGINS[domain]!({ config: h.config, clients: h.clients });
    worker = await Worker.create({
      connection: await connectWorker(h.config),
      namespace: h.config.temporal.namespace,
      taskQueue: h.taskQueue,
      plugins: [plugin('ingestion'), plugin('notifications')],
    });
    running = worker.run();
    const workflow = h.client.workflow;
    synced = await workflow.execute('syncWorkflow', { taskQueue: h.taskQueue, workflowId: `sync:${good}`, args: [{ dataset: good }] });
    const failed = await workflow
      .execute('syncWorkflow', { taskQueue: h.taskQueue, workflowId: `sync:${broken}`, args: [{ dataset: broken }] })
      .catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    // Decoded by the client, the failure still says what went wrong, canary and all.
    expect(failureMessages(failed)).toContain(canary);
    // A digest of that owner carries the address in its input (it fails after planning: this worker has no SMTP server).
    const digest = await workflow
      .execute('digestWorkflow', {
        taskQueue: h.taskQueue,
        workflowId: `digest:${tag}`,
        args: [{ period: { kind: 'daily' }, scope: { owners: [owner] } }],
      })
      .catch((err: unknown) => err);
    expect(failureMessages(digest)).toContain('SPOKEFLOW_SMTP_URL');
    for (const id of [`sync:${good}`, `sync:${broken}`, `digest:${tag}`]) histories.set(id, await showHistory(id));
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await new Promise((resolve) => (codecServer ? codecServer.close(resolve) : resolve(undefined)));
    if (h) {
      await h.warehouse.query(`DROP TABLE IF EXISTS \`codec_${tag}\``);
      await h.postgres.query(`DROP TABLE IF EXISTS public.codec_${tag}`);
      await h.close();
    }
    temporal?.kill('SIGTERM');
    process.env = savedEnv;
  });

  it('never shows the canary in plain text in any history the CLI prints', () => {
    expect(synced.rows).toBe(3);
    for (const [id, history] of histories) {
      expect(JSON.stringify(history), id).not.toContain(canary);
      expect(
        textsIn(history).some((t) => t.includes(canary)),
        id,
      ).toBe(false);
    }
  });

  it('holds the canary in those histories, encrypted: the codec finds it in the plan, the failure and the input', async () => {
    for (const [id, history] of histories) {
      const payloads = payloadsIn(history);
      expect(payloads.size, id).toBeGreaterThan(0);
      for (const [at, p] of payloads) expect(Buffer.from(p.metadata!.encoding!).toString(), `${id} ${at}`).toBe('binary/encrypted');
      const opened = await codec.decode([...payloads.values()]);
      expect(
        opened.some((p) => Buffer.from(p.data!).toString('utf8').includes(canary)),
        id,
      ).toBe(true);
    }
  });

  it('refuses the codec endpoint to a request without the token or with a wrong one', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${codecUrl}/decode`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"payloads":[]}' });
    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: `Bearer ${token}x` })).status).toBe(403);
    expect((await post({ authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it.skipIf(!chromiumPath)("shows a sync's decoded input in the Web UI configured with the codec endpoint", async () => {
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
      const page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
      page.setDefaultTimeout(20_000);
      // The operator's token, added to the UI's calls to the codec endpoint (as a UI with
      // pass-access-token would send its user's token).
      let decodes = 0;
      await page.route(`${codecUrl}/**`, async (route) => {
        if (route.request().method() === 'POST') decodes++;
        await route.continue({ headers: { ...route.request().headers(), authorization: `Bearer ${token}` } });
      });
      const runPage = `${uiUrl}/namespaces/default/workflows/${encodeURIComponent(`sync:${good}`)}/${synced.syncRunId}/history`;
      await page.goto(runPage, { waitUntil: 'domcontentloaded' });
      await page.getByText(`"dataset": "${good}"`).first().waitFor();
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect(decodes).toBeGreaterThan(0);
    } finally {
      await browser?.close();
    }
  });
});
