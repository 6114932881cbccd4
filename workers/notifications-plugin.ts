import { createDigestActivities, type DigestStep } from '../activities/notify/digest.js';
import { createSmtpSender, createWebhookSender } from '../activities/notify/senders.js';
import { definePlugin } from './define-plugin.js';
import type { PluginOptions } from './plugin-options.js';

export interface NotificationsPluginOptions extends PluginOptions {
  /** Test hook: called between a page's steps (the crash tests kill the worker from it). */
  onDigestStep?: (step: DigestStep, page: number) => void;
  /** Deliveries between two ledger writes (default 50). */
  digestChunkSize?: number;
}

/** The notifications domain: digests, from the MySQL catalog to MinIO, SMTP and a webhook. */
export const notificationsPlugin = definePlugin<NotificationsPluginOptions>('spokeflow.notifications', ({ config, clients, options }) => {
  const d = config.digests;
  // The SMTP connection pool lives as long as the worker.
  const email = d.smtpUrl ? createSmtpSender(d.smtpUrl, { from: d.from, connections: d.smtpConnections }) : undefined;
  const activities = createDigestActivities({
    catalog: clients.catalog,
    minio: clients.minio,
    bucket: d.bucket,
    samplesBucket: config.minio.bronzeBucket,
    ui: { uiUrl: config.temporal.uiUrl, namespace: config.temporal.namespace },
    email,
    webhook: d.webhookUrl ? createWebhookSender(d.webhookUrl) : undefined,
    from: d.from,
    teamEmail: d.teamEmail,
    ...(options.digestChunkSize ? { chunkSize: options.digestChunkSize } : {}),
    ...(options.onDigestStep ? { onStep: options.onDigestStep } : {}),
  });
  return { activities, owns: email ? [email] : [] };
});
