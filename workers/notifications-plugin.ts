import { SimplePlugin } from '@temporalio/plugin';
import { createDigestActivities, type DigestStep } from '../activities/notify/digest.js';
import { createSmtpSender, createWebhookSender } from '../activities/notify/senders.js';
import { createClients } from '../runtime/clients.js';
import { loadConfig } from '../runtime/config.js';
import { sharedWorkflowsPath, type PluginOptions } from './plugin-options.js';

export interface NotificationsPluginOptions extends PluginOptions {
  /** Test hook: called between a page's steps (the crash tests kill the worker from it). */
  onDigestStep?: (step: DigestStep, page: number) => void;
  /** Deliveries between two ledger writes (default 50). */
  digestChunkSize?: number;
}

/** The notifications domain: digests, from the MySQL catalog to MinIO, SMTP and a webhook. */
export function notificationsPlugin(options: NotificationsPluginOptions = {}): SimplePlugin {
  const config = options.config ?? loadConfig();
  const clients = options.clients ?? createClients(config);
  const d = config.digests;
  const email = d.smtpUrl ? createSmtpSender(d.smtpUrl, { from: d.from, connections: d.smtpConnections }) : undefined;
  const activities = createDigestActivities({
    catalog: clients.catalog,
    minio: clients.minio,
    bucket: d.bucket,
    ui: { uiUrl: config.temporal.uiUrl, namespace: config.temporal.namespace },
    email,
    webhook: d.webhookUrl ? createWebhookSender(d.webhookUrl) : undefined,
    from: d.from,
    teamEmail: d.teamEmail,
    ...(options.digestChunkSize ? { chunkSize: options.digestChunkSize } : {}),
    ...(options.onDigestStep ? { onStep: options.onDigestStep } : {}),
  });
  return new SimplePlugin({
    name: 'spokeflow.notifications',
    activities,
    ...(options.registerWorkflows === false ? {} : { workflowsPath: sharedWorkflowsPath }),
    // The SMTP connection pool lives as long as the worker.
    runContext: async (next) => {
      try {
        await next();
      } finally {
        email?.close();
      }
    },
  });
}
