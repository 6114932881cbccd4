import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncResult } from '../../common/sync.js';
import type { syncWorkflow } from '../../workflows/sync.js';
import { CHROMIUM_ARGS, findChromium } from '../support/chromium.js';
import { openHarness, type Harness } from '../support/harness.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCREENSHOTS = path.join(REPO_ROOT, '.stack', 'screenshots'); // .stack/ is git-ignored

const chromiumPath = findChromium();
if (!chromiumPath) {
  console.warn(
    'web-ui test skipped: /usr/bin/chromium is missing and infra/local/chromium.sh could not install it (needs apt-get and root or sudo)',
  );
}

/** Reloads the page until `ready` finds what it waits for: visibility lags a completed run a little. */
async function reloadUntil(page: Page, ready: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ready()) return;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs / 1000}s of reloading ${page.url()}`);
    await page.reload({ waitUntil: 'domcontentloaded' });
  }
}

describe.skipIf(!chromiumPath)('runs an operator can read in the Web UI', () => {
  const tag = `t${randomUUID().slice(0, 8)}`;
  const dataset = `webui_${tag}.orders`;
  const workflowId = `sync:${dataset}`;
  const summary = `sync ${dataset}`;
  const team = `webui-${tag}`;
  let h: Harness;
  let quality: Harness;
  let browser: Browser;
  let page: Page;
  let result: SyncResult;

  beforeAll(async () => {
    h = await openHarness();
    await h.postgres.query(`
      CREATE TABLE public.webui_${tag} AS
        SELECT g AS id, timestamp '2024-01-01' + g * interval '1 minute' AS updated_at, 'order ' || g AS label
        FROM generate_series(1, 5) g`);
    await h.datasets.upsert({
      name: dataset,
      source: { kind: 'postgres', connection: 'local-postgres', table: `public.webui_${tag}`, primaryKey: ['id'], cursor: 'updated_at' },
      target: { table: `webui_${tag}` },
      owner: 'ops@example.com',
      team,
    });
    const handle = await h.client.workflow.start<typeof syncWorkflow>('syncWorkflow', {
      taskQueue: h.taskQueue,
      workflowId,
      args: [{ dataset }],
      staticSummary: summary,
    });
    result = await handle.result();
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.setDefaultTimeout(20_000); // for each auto-waiting locator: the UI loads its data after the page
  });

  afterAll(async () => {
    await browser?.close();
    await quality?.close();
    if (!h) return;
    await h.warehouse.query(`DROP TABLE IF EXISTS \`webui_${tag}\``);
    await h.postgres.query(`DROP TABLE IF EXISTS public.webui_${tag}`);
    await h.close();
  });

  it('lists exactly the run of a dataset when filtered by SpokeflowDataset', async () => {
    expect(result.rows).toBe(5);
    const { uiUrl, namespace } = h.config.temporal;
    const query = `SpokeflowDataset="${dataset}"`;
    await page.goto(`${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`, {
      waitUntil: 'domcontentloaded',
    });

    const rows = page.getByTestId('workflows-summary-configurable-table-row');
    await reloadUntil(page, () =>
      rows
        .first()
        .waitFor({ timeout: 5_000 })
        .then(
          () => true,
          () => false,
        ),
    );
    await expect.poll(() => page.getByRole('button', { name: `SpokeflowDataset = "${dataset}"` }).count()).toBeGreaterThan(0); // the filter, as the UI shows it
    expect(await rows.count()).toBe(1);
    const row = rows.first();
    await expect.poll(() => row.getByRole('link', { name: workflowId, exact: true }).count()).toBe(1);
    expect(await row.innerText()).toMatch(/COMPLETED/);
    expect(await row.innerText()).toContain(result.syncRunId);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'web-ui-list.png'), fullPage: true });
  });

  it("shows the run's summary, current details and search attributes on its page", async () => {
    const { uiUrl, namespace } = h.config.temporal;
    const runPage = `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${result.syncRunId}`;

    // User Metadata: the static summary, and the current details the sync reported last. A
    // closed run's details are read through a query, which the (still running) worker answers.
    await page.goto(`${runPage}/user-metadata`, { waitUntil: 'domcontentloaded' });
    await page.getByRole('heading', { name: workflowId }).waitFor();
    await page.getByRole('heading', { name: 'Summary', exact: true }).waitFor();
    await page.getByRole('heading', { name: 'Current Details', exact: true }).waitFor();
    // The UI renders summary and details as markdown, each in an iframe of its own.
    await page.locator('iframe#user-metadata-summary').contentFrame().getByText(summary, { exact: true }).waitFor();
    const details = page.locator('iframe#user-metadata-current-details').contentFrame();
    await details.getByText(`${dataset} — done`).waitFor(); // "**<dataset>** — done", as markdown
    await details.getByText(`rows 5 of ~5 (100%), objects 1, quarantined 0, sync run ${result.syncRunId}`).waitFor();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'web-ui-run-metadata.png'), fullPage: true });

    // Search Attributes: what the list filters by, and the outcome the run recorded.
    await page.getByRole('tab', { name: 'Search Attributes' }).click();
    await page.waitForURL(/\/search-attributes$/);
    const attributes = page.getByText(`"SpokeflowDataset": "${dataset}"`);
    await attributes.waitFor();
    const text = await page.locator('main').innerText();
    expect(text).toContain('"SpokeflowKind": "sync"');
    expect(text).toContain(`"SpokeflowTeam": "${team}"`);
    expect(text).toContain('"SpokeflowOutcome": "succeeded"');
    expect(text).toContain('"SpokeflowRows": 5');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'web-ui-run-search-attributes.png'), fullPage: true });
  });

  it("lists a team's quality runs beside its syncs, each with its kind", async () => {
    quality = await openHarness({ domain: 'quality' });
    const runs = [
      { type: 'healthScoringWorkflow', kind: 'health-scoring', input: { team } },
      { type: 'anomalyScanWorkflow', kind: 'anomaly-scan', input: { team, window: { lastHours: 24 } } },
    ];
    for (const run of runs) {
      await quality.client.workflow.execute(run.type, {
        taskQueue: quality.taskQueue,
        workflowId: `${run.kind}:${team}`,
        args: [run.input],
      });
    }
    const { uiUrl, namespace } = h.config.temporal;
    const query = `SpokeflowTeam="${team}"`;
    await page.goto(`${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`, {
      waitUntil: 'domcontentloaded',
    });
    const rows = page.getByTestId('workflows-summary-configurable-table-row');
    await reloadUntil(page, async () => {
      await rows
        .first()
        .waitFor({ timeout: 5_000 })
        .catch(() => undefined);
      return (await rows.count()) === 3;
    });
    const listed = await page.locator('main').innerText();
    for (const id of [workflowId, ...runs.map((r) => `${r.kind}:${team}`)]) expect(listed).toContain(id);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'web-ui-team-runs.png'), fullPage: true });

    const kinds = await Promise.all(
      runs.map(async (r) => (await h.client.workflow.getHandle(`${r.kind}:${team}`).describe()).searchAttributes.SpokeflowKind),
    );
    expect(kinds).toEqual([['health-scoring'], ['anomaly-scan']]);
  });
});
