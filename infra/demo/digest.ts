import { createDigestReads } from '../../activities/catalog/digest-reads.js';
import { gatherDigests } from '../../activities/notify/digest-content.js';
import { digestMessageId } from '../../activities/notify/digest.js';
import { renderDigest } from '../../activities/notify/render.js';
import { createDigestObjects } from '../../activities/objects/digest-objects.js';
import { DigestInput, digestObjectKey, recipientKey, resolvePeriod, type DigestSpec } from '../../common/digest.js';
import type { Clients } from '../../runtime/clients.js';
import type { SpokeflowConfig } from '../../runtime/config.js';

export interface DemoDigest {
  recipient: string;
  period: string;
  subject: string;
  /** `s3://bucket/key` in MinIO. */
  address: string;
  /** A presigned GET a person can open in a browser (valid for `expirySeconds`). */
  url: string;
  /** The plain-text rendering, for a terminal. */
  text: string;
}

/**
 * Renders one owner's digest (nothing is sent and the delivery ledger is left alone) for a day,
 * stores its HTML under the same key the digest workflow uses, and returns where to open it.
 */
export async function renderDemoDigest(
  clients: Pick<Clients, 'catalog' | 'minio'>,
  config: SpokeflowConfig,
  options: { owner?: string; day?: string; kind?: 'daily' | 'weekly'; expirySeconds?: number } = {},
): Promise<DemoDigest> {
  const owner = options.owner ?? 'orders@example.com';
  const input = DigestInput.parse({
    period: { kind: options.kind ?? 'daily', ...(options.day ? { date: options.day } : {}) },
    scope: { owners: [owner] },
  });
  const period = resolvePeriod(input.period, Date.now());
  if ('error' in period) throw new Error(period.error);
  const spec: DigestSpec = {
    period,
    audience: 'owners',
    scope: input.scope,
    channels: ['email'],
    sendEmpty: true,
    asOfMs: Math.min(period.toMs, Date.now()),
    workflowId: 'demo',
    digestRunId: 'demo',
  };
  const [content] = await gatherDigests(
    createDigestReads(clients.catalog),
    spec,
    [owner],
    { uiUrl: config.temporal.uiUrl, namespace: config.temporal.namespace },
    config.minio.bronzeBucket,
  );
  const recipient = recipientKey('owners', owner);
  const key = digestObjectKey(period.key, recipient);
  const rendered = renderDigest(content!, {
    messageId: digestMessageId(recipient, period.key, 'email', config.digests.from),
    objectKey: key,
  });
  const bucket = config.digests.bucket;
  if (!(await clients.minio.bucketExists(bucket))) await clients.minio.makeBucket(bucket);
  await createDigestObjects(clients.minio, bucket).putHtml(key, rendered.html);
  const url = await clients.minio.presignedGetObject(bucket, key, options.expirySeconds ?? 7 * 24 * 3600);
  return { recipient, period: period.key, subject: rendered.subject, address: `s3://${bucket}/${key}`, url, text: rendered.text };
}
