import { createHash, randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { activityContext } from '../activity-context.js';
import type { Client as MinioClient } from 'minio';
import type { Pool } from 'mysql2/promise';
import {
  digestObjectKey,
  emptyDigestTotals,
  recipientKey,
  type DigestChannel,
  type DigestPage,
  type DigestPlan,
  type DigestSpec,
  type DigestTotals,
} from '../../common/digest.js';
import { ErrorType } from '../../common/errors.js';
import { SPOKEFLOW_METRICS } from '../../common/metric-names.js';
import { countMetric } from '../activity-metrics.js';
import { inLanes } from '../../common/lanes.js';
import { createDeliveryLedger, type ClaimToken, type DeliveryRow } from '../catalog/delivery-ledger.js';
import { createDigestRuns, type DigestRunStatus } from '../catalog/digest-runs.js';
import { createDigestReads } from '../catalog/digest-reads.js';
import { createDigestObjects } from '../objects/digest-objects.js';
import { gatherDigests, isEmptyDigest, type DigestContent } from './digest-content.js';
import { renderDigest, type RenderedDigest } from './render.js';
import type { EmailSender, SendOutcome, WebhookSender } from './senders.js';

/** Where a page activity is between its steps: a test hook kills the worker at one of them. */
export type DigestStep = 'claimed' | 'sending' | 'sent' | 'completed';

export interface DigestDeps {
  catalog: Pool;
  minio: MinioClient;
  bucket: string;
  /** Where check results' failing-row samples are (the bronze bucket): the digest gives their s3 address. */
  samplesBucket: string;
  ui: { uiUrl: string; namespace: string };
  /** Unset: the email channel is not configured here. */
  email?: EmailSender;
  webhook?: WebhookSender;
  /** The From address; its domain ends every Message-ID. */
  from: string;
  /** A team digest's address; `{team}` is the slug. */
  teamEmail: string;
  /** Deliveries sent between two ledger writes: at most this many are resent after a crash. */
  chunkSize?: number;
  leaseSeconds?: number;
  onStep?: (step: DigestStep, page: number) => void;
}

const PUTS_IN_FLIGHT = 16;

/** Stable across retries, runs and processes: the same recipient, period and channel give the same id. */
export function digestMessageId(recipient: string, period: string, channel: DigestChannel, from: string): string {
  const hash = createHash('sha256').update(`${recipient}\u0000${period}`).digest('hex').slice(0, 40);
  if (channel === 'webhook') return `digest.${hash}`;
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'spokeflow.localhost';
  return `<digest.${hash}@${domain}>`;
}

/**
 * The digest's activities: plan the recipient pages, then per page claim the deliveries, gather
 * and render every digest set-based, store them in MinIO and send them, completing each chunk in
 * the ledger right after its sends.
 */
export function createDigestActivities(deps: DigestDeps) {
  const ledger = createDeliveryLedger(deps.catalog, deps.leaseSeconds);
  const reads = createDigestReads(deps.catalog);
  const runs = createDigestRuns(deps.catalog);
  const objects = createDigestObjects(deps.minio, deps.bucket);
  const chunkSize = deps.chunkSize ?? 50;
  const step = (s: DigestStep, page: number) => deps.onStep?.(s, page);

  function addressOf(spec: DigestSpec, name: string): string | null {
    if (spec.audience === 'teams') return deps.teamEmail.replaceAll('{team}', name);
    return /^[^@\s<>]+@[^@\s<>]+$/.test(name) ? name : null;
  }

  async function send(
    spec: DigestSpec,
    row: DeliveryRow,
    content: DigestContent,
    rendered: RenderedDigest,
    resend: boolean,
  ): Promise<SendOutcome> {
    if (row.channel === 'webhook') {
      if (!deps.webhook)
        return { ok: false, permanent: false, refused: true, error: 'no webhook configured on this worker (SPOKEFLOW_DIGEST_WEBHOOK_URL)' };
      return deps.webhook.send(rendered.webhook, row.messageId);
    }
    if (!deps.email)
      return { ok: false, permanent: false, refused: true, error: 'no SMTP server configured on this worker (SPOKEFLOW_SMTP_URL)' };
    const to = addressOf(spec, content.name);
    if (!to) return { ok: false, permanent: true, refused: true, error: `owner "${content.name}" is not an email address` };
    return deps.email.send({
      to,
      subject: rendered.subject,
      html: rendered.html,
      text: rendered.text,
      messageId: row.messageId,
      headers: {
        'X-Spokeflow-Digest': `${spec.period.key} ${row.recipient}`,
        ...(resend ? { 'X-Spokeflow-Possible-Resend': 'yes' } : {}),
      },
    });
  }

  return {
    /** The recipients in scope, cut into pages by key; fails at once on a channel this worker cannot serve. */
    async planDigest(args: { spec: DigestSpec; recipientsPerPage: number }): Promise<DigestPlan> {
      const { spec } = args;
      await runs.start(spec);
      if (spec.channels.includes('email') && !deps.email) {
        throw ApplicationFailure.nonRetryable(
          'channel email needs an SMTP server: set SPOKEFLOW_SMTP_URL on the notifications worker',
          ErrorType.invalidInput,
        );
      }
      if (spec.channels.includes('webhook') && !deps.webhook) {
        throw ApplicationFailure.nonRetryable(
          'channel webhook needs a URL: set SPOKEFLOW_DIGEST_WEBHOOK_URL on the notifications worker',
          ErrorType.invalidInput,
        );
      }
      const recipients = await reads.recipients(spec);
      const bounds: string[] = [];
      for (let i = 0; i < recipients.length; i += args.recipientsPerPage) bounds.push(recipients[i]!);
      return { spec, recipients: recipients.length, bounds };
    },

    /** How the run ended, on record (a run that failed while planning was started there). */
    async finishDigest(args: { digestRunId: string; status: DigestRunStatus; totals: DigestTotals; error?: string }): Promise<void> {
      await runs.finish(args.digestRunId, args.status, args.totals, args.error);
    },

    /**
     * One page of recipients end to end. Idempotent: done deliveries are skipped, objects are
     * overwritten under the same keys, and a delivery this attempt's predecessor left `sending`
     * is sent again with the same Message-ID (counted as `resent`).
     */
    async deliverDigestPage(page: DigestPage): Promise<DigestTotals> {
      const { spec } = page;
      const ctx = activityContext();
      const info = ctx?.info;
      const run = info?.workflowExecution;
      // One owner per activity of a run (its retries take its claims back at once), one token per attempt.
      const owner = info && run ? `${run.workflowId}|${run.runId}|${info.activityId}|` : `direct|${randomUUID()}|`;
      const claim: ClaimToken = { owner, token: `${owner}${info?.attempt ?? 1}` };
      const token = claim.token;
      const ours = (t: string | null) => t !== null && t.startsWith(owner);
      const totals = emptyDigestTotals();
      const names = await reads.recipientsBetween(spec, page.from, page.to);
      totals.recipients = names.length;
      if (names.length === 0) return totals;
      const period = spec.period.key;
      const keyOf = new Map(names.map((n) => [recipientKey(spec.audience, n), n]));

      await ledger.ensure(
        period,
        spec.workflowId,
        [...keyOf.keys()].flatMap((recipient) =>
          spec.channels.map((channel) => ({ recipient, channel, messageId: digestMessageId(recipient, period, channel, deps.from) })),
        ),
      );
      const rows = await ledger.claim(period, [...keyOf.keys()], spec.channels, claim);
      step('claimed', page.index);

      const mine: DeliveryRow[] = [];
      const heldElsewhere: DeliveryRow[] = [];
      for (const r of rows) {
        // Done by an earlier attempt of this same activity: counted as this run's work.
        if (r.status === 'sent' && ours(r.claimToken)) {
          totals.sent++;
          if (r.resends > 0) totals.resent++;
        } else if (r.status === 'empty' && ours(r.claimToken)) totals.empty++;
        else if (r.status === 'sent' || r.status === 'empty') totals.alreadyDone++;
        else if (r.status === 'failed' && ours(r.claimToken))
          totals.failed++; // refused by an earlier attempt of this activity
        else if (r.claimToken !== token) heldElsewhere.push(r);
        else mine.push(r);
      }

      const wanted = [...new Set(mine.map((r) => keyOf.get(r.recipient)!))];
      const contents = new Map((await gatherDigests(reads, spec, wanted, deps.ui, deps.samplesBucket)).map((c) => [c.recipient, c]));
      const toSend: { row: DeliveryRow; content: DigestContent; rendered: RenderedDigest; objectKey: string }[] = [];
      const empty: DeliveryRow[] = [];
      const rendered = new Map<string, { objectKey: string; r: RenderedDigest; stored?: Promise<void> }>();
      for (const row of mine) {
        const content = contents.get(row.recipient)!;
        if (!spec.sendEmpty && isEmptyDigest(content)) {
          empty.push(row);
          continue;
        }
        let r = rendered.get(row.recipient);
        if (!r) {
          const objectKey = digestObjectKey(period, row.recipient);
          r = { objectKey, r: renderDigest(content, { messageId: digestMessageId(row.recipient, period, 'email', deps.from), objectKey }) };
          rendered.set(row.recipient, r);
        }
        toSend.push({ row, content, rendered: r.r, objectKey: r.objectKey });
      }
      if (empty.length)
        totals.empty += await ledger.complete(
          period,
          empty.map((e) => ({ ...e, objectKey: null })),
          token,
          'empty',
        );

      // Each digest is stored before it is sent, under a key fixed by recipient and period (a retry
      // overwrites it); the next chunk's objects are stored while this chunk is sent.
      const store = (chunk: typeof toSend): Promise<void> =>
        inLanes(chunk, PUTS_IN_FLIGHT, async (c) => {
          const r = rendered.get(c.row.recipient)!;
          r.stored ??= objects.putHtml(r.objectKey, r.r.html).then(() => {
            totals.objects++;
          });
          await r.stored;
        });

      let transient: string | undefined;
      // Slow but live sends keep the attempt alive; a dead worker stops beating and is replaced.
      const beat = setInterval(() => ctx?.heartbeat({ page: page.index, sent: totals.sent }), 5_000);
      try {
        let stored = store(toSend.slice(0, chunkSize));
        for (let i = 0; i < toSend.length; i += chunkSize) {
          const chunk = toSend.slice(i, i + chunkSize);
          await stored;
          stored = store(toSend.slice(i + chunkSize, i + 2 * chunkSize));
          // A failed store of the next chunk surfaces when it is awaited; never as an unhandled rejection.
          stored.catch(() => undefined);
          await ledger.markSending(
            period,
            chunk.map((c) => c.row),
            token,
          );
          step('sending', page.index);
          const outcomes = await Promise.all(chunk.map((c) => send(spec, c.row, c.content, c.rendered, c.row.status === 'sending')));
          step('sent', page.index);
          const ok = chunk.filter((_, j) => outcomes[j]!.ok);
          await ledger.complete(
            period,
            ok.map((c) => ({ ...c.row, objectKey: c.objectKey })),
            token,
          );
          step('completed', page.index);
          totals.sent += ok.length;
          totals.resent += ok.filter((c) => c.row.status === 'sending').length;
          for (const channel of spec.channels) {
            const sent = ok.filter((c) => c.row.channel === channel);
            countMetric(SPOKEFLOW_METRICS.digestsSent, sent.length, { channel });
            countMetric(SPOKEFLOW_METRICS.digestsResent, sent.filter((c) => c.row.status === 'sending').length, { channel });
          }
          const refused: DeliveryRow[] = [];
          for (let j = 0; j < chunk.length; j++) {
            const o = outcomes[j]!;
            if (o.ok) continue;
            if (o.permanent) {
              await ledger.fail(period, chunk[j]!.row, token, o.error);
              totals.failed++;
              countMetric(SPOKEFLOW_METRICS.digestsFailed, 1, { channel: chunk[j]!.row.channel });
            } else {
              transient ??= o.error;
              // A row that was `sending` before this attempt may still have an earlier copy out there.
              if (o.refused && chunk[j]!.row.status !== 'sending') refused.push(chunk[j]!.row);
            }
          }
          // Certainly not sent by anyone: the retry's send is not a possible duplicate.
          await ledger.release(period, refused, token);
          ctx?.heartbeat({ page: page.index, sent: totals.sent });
        }
        await stored;
      } finally {
        clearInterval(beat);
      }
      // Retryable: the retry skips what is done and sends only what is left.
      if (transient) throw ApplicationFailure.retryable(`some digests could not be sent yet: ${transient}`, ErrorType.digestSendFailed);
      if (heldElsewhere.length) {
        throw ApplicationFailure.retryable(
          `${heldElsewhere.length} deliveries (e.g. ${heldElsewhere[0]!.recipient}) are claimed by another run; retrying once its claim ends`,
          ErrorType.digestClaimHeld,
        );
      }
      return totals;
    },
  };
}
export type DigestActivities = ReturnType<typeof createDigestActivities>;
