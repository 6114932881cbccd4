import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';

/** What became of one send: accepted, refused for good, or worth another try. */
/**
 * `refused`: the server answered no, so the message certainly did not go out (a timeout or a
 * dropped connection leaves that unknown).
 */
export type SendOutcome = { ok: true } | { ok: false; permanent: boolean; refused: boolean; error: string };

export interface EmailMessage {
  to: string;
  subject: string;
  html: string;
  text: string;
  messageId: string;
  headers: Record<string, string>;
}

export interface EmailSender {
  send(message: EmailMessage): Promise<SendOutcome>;
  close(): void;
}

/** SMTP through a pool of connections (nodemailer), from a URL such as smtp://user:pass@host:587. */
export function createSmtpSender(url: string, options: { from: string; connections: number }): EmailSender {
  const pool: SMTPPool.Options = {
    url,
    pool: true,
    maxConnections: options.connections,
    maxMessages: Infinity,
    disableFileAccess: true,
    disableUrlAccess: true,
    // A server that stops answering fails the send (retried) rather than holding the page for minutes.
    connectionTimeout: 30_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
  };
  const transport = nodemailer.createTransport(pool);
  return {
    async send(m) {
      try {
        const info = (await transport.sendMail({
          from: options.from,
          to: m.to,
          subject: m.subject,
          text: m.text,
          html: m.html,
          messageId: m.messageId,
          headers: m.headers,
          // base64 is native code; quoted-printable of style-heavy HTML is slower and no smaller.
          textEncoding: 'base64',
        })) as { rejected?: unknown[] };
        if (info.rejected?.length)
          return { ok: false, permanent: true, refused: true, error: `recipient refused: ${String(info.rejected[0])}` };
        return { ok: true };
      } catch (err) {
        const e = err as { responseCode?: number; message?: string; code?: string };
        // 5xx is the server's final word; 4xx, timeouts and dropped connections are worth a retry.
        const permanent = (e.responseCode !== undefined && e.responseCode >= 500) || e.code === 'EENVELOPE';
        return {
          ok: false,
          permanent,
          refused: e.responseCode !== undefined || e.code === 'EENVELOPE',
          error: `${e.code ?? 'SMTP'} ${e.responseCode ?? ''} ${e.message ?? String(err)}`.trim(),
        };
      }
    },
    close() {
      transport.close();
    },
  };
}

export interface WebhookSender {
  send(body: unknown, idempotencyKey: string): Promise<SendOutcome>;
}

/**
 * JSON POST to a Slack-compatible incoming webhook. The idempotency key rides in a header, so a
 * receiver that keeps them can drop a resend; Slack itself ignores it.
 */
export function createWebhookSender(url: string, timeoutMs = 15_000): WebhookSender {
  return {
    async send(body, idempotencyKey) {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.arrayBuffer();
        if (res.ok || res.status === 409) return { ok: true }; // 409: the receiver already has this key
        const permanent = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
        return { ok: false, permanent, refused: true, error: `webhook answered ${res.status}` };
      } catch (err) {
        return { ok: false, permanent: false, refused: false, error: `webhook: ${err instanceof Error ? err.message : String(err)}` };
      }
    },
  };
}
