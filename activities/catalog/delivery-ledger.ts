import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import type { DigestChannel } from '../../common/digest.js';

export interface DeliveryKey {
  recipient: string;
  channel: DigestChannel;
}

export interface DeliveryRow extends DeliveryKey {
  messageId: string;
  status: 'pending' | 'claimed' | 'sending' | 'sent' | 'empty' | 'failed';
  claimToken: string | null;
  /** Sends that repeated one which may have gone out before. */
  resends: number;
}

/** A claim nobody renews (its worker died) may be taken over by another run after this long. */
export const DEFAULT_LEASE_SECONDS = 600;

/**
 * The recipients of a list by channel: `recipient IN (…) AND period = ? AND channel = ?` is a set
 * of primary-key lookups, where a row-constructor IN would scan (and lock) the whole period.
 */
function byChannel(list: DeliveryKey[]): [DigestChannel, string[]][] {
  const groups = new Map<DigestChannel, string[]>();
  for (const k of list) {
    let g = groups.get(k.channel);
    if (!g) groups.set(k.channel, (g = []));
    g.push(k.recipient);
  }
  return [...groups];
}

/**
 * A claim's owner: one activity of one run (`owner`, the same for all its retries) and the
 * attempt holding the claim now (`token` = owner + attempt). A retry takes its predecessor's
 * claims at once; a predecessor still running (a zombie after a heartbeat timeout) finds its
 * token gone and sends nothing more.
 */
export interface ClaimToken {
  owner: string;
  token: string;
}

/** Thrown when an attempt finds its claims taken over by its own retry. */
export class ClaimLost extends Error {}

/**
 * The delivery ledger in MySQL: one row per recipient, period and channel. A send happens only
 * under a claim and is completed after; a row still `sending` when claimed again may have gone
 * out, so its resend is counted.
 */
export function createDeliveryLedger(mysql: Pool, leaseSeconds = DEFAULT_LEASE_SECONDS) {
  return {
    /** Creates the missing rows as `pending`; existing ones (any status) stay as they are. */
    async ensure(period: string, workflowId: string, rows: (DeliveryKey & { messageId: string })[]): Promise<void> {
      if (rows.length === 0) return;
      await mysql.query('INSERT IGNORE INTO digest_deliveries (recipient, period, channel, message_id, status, workflow_id) VALUES ?', [
        rows.map((r) => [r.recipient, period, r.channel, r.messageId, 'pending', workflowId]),
      ]);
    },

    /**
     * Claims every row of these recipients that is not done, unless another live claim holds it,
     * and returns all their rows: the caller sends those it holds. A failed row is retried by a
     * later run, not by the retries of the attempt that failed it.
     */
    async claim(period: string, recipients: string[], channels: DigestChannel[], claim: ClaimToken): Promise<DeliveryRow[]> {
      if (recipients.length === 0) return [];
      const { owner, token } = claim;
      await mysql.query(
        `UPDATE digest_deliveries
         SET claims = claims + 1, claim_token = ?, lease_until = NOW(6) + INTERVAL ? SECOND, claimed_at = NOW(6),
             status = IF(status IN ('pending', 'failed'), 'claimed', status)
         WHERE recipient IN (?) AND period = ? AND channel IN (?)
           AND (status IN ('pending', 'claimed', 'sending') OR (status = 'failed' AND NOT LEFT(claim_token, CHAR_LENGTH(?)) <=> ?))
           AND (status IN ('pending', 'failed') OR claim_token IS NULL OR LEFT(claim_token, CHAR_LENGTH(?)) = ? OR lease_until < NOW(6))`,
        [token, leaseSeconds, recipients, period, channels, owner, owner, owner, owner],
      );
      const [rows] = await mysql.query<RowDataPacket[]>(
        'SELECT recipient, channel, message_id, status, claim_token, resends FROM digest_deliveries WHERE recipient IN (?) AND period = ? AND channel IN (?)',
        [recipients, period, channels],
      );
      return rows.map((r) => ({
        recipient: r.recipient as string,
        channel: r.channel as DigestChannel,
        messageId: r.message_id as string,
        status: r.status as DeliveryRow['status'],
        claimToken: (r.claim_token as string | null) ?? null,
        resends: Number(r.resends),
      }));
    },

    /**
     * Just before the send: from here on a crash leaves the row `sending` (maybe sent). Throws
     * ClaimLost, before anything is sent, if a retry of this activity has taken the rows over.
     */
    async markSending(period: string, list: DeliveryKey[], token: string): Promise<void> {
      let marked = 0;
      for (const [channel, recipients] of byChannel(list)) {
        // Assignments run left to right: `resends` sees the status before this update.
        const [result] = await mysql.query<ResultSetHeader>(
          `UPDATE digest_deliveries SET resends = resends + (status = 'sending'), status = 'sending', lease_until = NOW(6) + INTERVAL ? SECOND
           WHERE recipient IN (?) AND period = ? AND channel = ? AND claim_token = ?`,
          [leaseSeconds, recipients, period, channel, token],
        );
        marked += result.affectedRows;
      }
      if (marked < list.length) throw new ClaimLost(`${list.length - marked} of ${list.length} deliveries were claimed by a later attempt`);
    },

    /** Back from `sending` to `claimed`: the server refused the message, so it did not go out. */
    async release(period: string, list: DeliveryKey[], token: string): Promise<void> {
      for (const [channel, recipients] of byChannel(list)) {
        await mysql.query(
          `UPDATE digest_deliveries SET status = 'claimed' WHERE recipient IN (?) AND period = ? AND channel = ? AND claim_token = ? AND status = 'sending'`,
          [recipients, period, channel, token],
        );
      }
    },

    /** After the server accepted the message. */
    async complete(
      period: string,
      list: (DeliveryKey & { objectKey: string | null })[],
      token: string,
      status: 'sent' | 'empty' = 'sent',
    ): Promise<number> {
      if (list.length === 0) return 0;
      // The object key is the recipient's; the statement picks each row's from a CASE.
      const keyOf = new Map(list.map((k) => [k.recipient, k.objectKey]));
      const keyCase = list.some((k) => k.objectKey !== null)
        ? { sql: `CASE recipient ${[...keyOf.keys()].map(() => 'WHEN ? THEN ?').join(' ')} END`, args: [...keyOf].flat() }
        : { sql: 'NULL', args: [] };
      let affected = 0;
      for (const [channel, recipients] of byChannel(list)) {
        const [result] = await mysql.query<ResultSetHeader>(
          `UPDATE digest_deliveries SET status = ?, sent_at = IF(? = 'sent', NOW(6), NULL), object_key = ${keyCase.sql}, error = NULL, lease_until = NULL
           WHERE recipient IN (?) AND period = ? AND channel = ? AND claim_token = ?`,
          [status, status, ...keyCase.args, recipients, period, channel, token],
        );
        affected += result.affectedRows;
      }
      return affected;
    },

    /** Refused for good (a bad address, a 4xx): recorded with the reason; a later run tries again. */
    async fail(period: string, key: DeliveryKey, token: string, error: string): Promise<void> {
      await mysql.query(
        `UPDATE digest_deliveries SET status = 'failed', error = ?, lease_until = NULL WHERE period = ? AND recipient = ? AND channel = ? AND claim_token = ?`,
        [error.slice(0, 2000), period, key.recipient, key.channel, token],
      );
    },
  };
}
export type DeliveryLedger = ReturnType<typeof createDeliveryLedger>;
