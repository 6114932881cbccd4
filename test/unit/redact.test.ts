import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../runtime/config.js';
import { createRedactor, redactError, redactingActivityErrors, redactorOf } from '../../runtime/redact.js';

describe('redaction of credentials', () => {
  it('masks the password of any URL, whatever the scheme', () => {
    const redact = createRedactor([]);
    expect(redact('connect postgres://etl:s3cr%40t@db:5432/shop failed')).toBe('connect postgres://etl:***@db:5432/shop failed');
    expect(redact('smtps://mailer:hunter2@mail.example:465 and mysql://root:pw@h/db')).toBe(
      'smtps://mailer:***@mail.example:465 and mysql://root:***@h/db',
    );
    expect(redact('https://example.com/path?q=1')).toBe('https://example.com/path?q=1');
  });

  it('masks bearer tokens and every configured secret, wherever it appears', () => {
    const config = loadConfig({
      MINIO_SECRET_KEY: 'minio-very-secret',
      SPOKEFLOW_DIGEST_WEBHOOK_URL: 'https://hooks.example/T000/B000/XXXXsecretpath',
      SPOKEFLOW_CODEC_KEYS: 'k1:bXlrZXlteWtleW15a2V5bXlrZXlteWtleW15a2V5MTI=',
      SPOKEFLOW_SOURCE_CRM_URL: 'postgres://crm:crm-password@crm:5432/crm',
      TEMPORAL_API_KEY: 'temporal-cloud-api-key',
    });
    const redact = redactorOf(config);
    const line = redact(
      'key minio-very-secret, hook https://hooks.example/T000/B000/XXXXsecretpath, codec bXlrZXlteWtleW15a2V5bXlrZXlteWtleW15a2V5MTI=, Authorization: Bearer abc.def',
    );
    expect(line).toBe('key ***, hook ***, codec ***, Authorization: Bearer ***');
    expect(redact('password crm-password in a driver message')).toBe('password *** in a driver message');
    expect(redact('api key temporal-cloud-api-key refused')).toBe('api key *** refused');
  });

  it("leaves the local stack's default values alone, so ordinary words survive", () => {
    expect(redactorOf(loadConfig({}))('spokeflow workers polling spokeflow-ingestion')).toBe(
      'spokeflow workers polling spokeflow-ingestion',
    );
  });

  it("redacts an activity's error, its cause and stack, keeping its type and retry policy", async () => {
    const redact = createRedactor(['topsecret-token']);
    const interceptor = redactingActivityErrors(redact)({} as never).inbound!;
    const failure = ApplicationFailure.nonRetryable('login with topsecret-token refused', 'SourceAuth');
    const thrown = await interceptor.execute!({} as never, () => Promise.reject(failure)).catch((err: unknown) => err);
    expect(thrown).toBe(failure);
    expect(failure.message).toBe('login with *** refused');
    expect(failure.stack).not.toContain('topsecret-token');
    expect(failure.nonRetryable).toBe(true);
    const wrapped = redactError(new Error('outer', { cause: new Error('mysql://u:pw@h failed') }), redact);
    expect((wrapped.cause as Error).message).toBe('mysql://u:***@h failed');
  });
});

describe('secrets from files', () => {
  const file = (name: string, text: string) => {
    const p = path.join(tmpdir(), `spokeflow-${process.pid}-${name}`);
    writeFileSync(p, text);
    return p;
  };

  it('reads <NAME>_FILE for a setting and for a source URL, without the trailing newline', () => {
    const config = loadConfig({
      SPOKEFLOW_SMTP_URL_FILE: file('smtp', 'smtp://u:p@mail:587\n'),
      SPOKEFLOW_SOURCE_CRM_URL_FILE: file('crm', 'postgres://crm:pw@crm/crm\n'),
      MYSQL_PASSWORD_FILE: file('mysql', 'from-a-file'),
    });
    expect(config.digests.smtpUrl).toBe('smtp://u:p@mail:587');
    expect(config.sourceUrls.crm).toBe('postgres://crm:pw@crm/crm');
    expect(config.mysql.password).toBe('from-a-file');
  });

  it('names the variable when its file is missing, or when both forms are set', () => {
    expect(() => loadConfig({ INFLUX_URL_FILE: '/nonexistent/influx-url' })).toThrow(
      /INFLUX_URL_FILE: cannot read \/nonexistent\/influx-url/,
    );
    expect(() => loadConfig({ PGPASSWORD: 'a', PGPASSWORD_FILE: file('pg', 'b') })).toThrow(/set PGPASSWORD or PGPASSWORD_FILE, not both/);
  });
});
