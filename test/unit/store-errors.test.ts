import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import {
  influxErrorClassifier,
  minioErrorClassifier,
  mysqlErrorClassifier,
  postgresErrorClassifier,
  smtpErrorClassifier,
  storesErrorClassifier,
  withErrorClassification,
  type ClassifyError,
} from '../../activities/store-errors.js';
import { storeErrorClassifier } from '../../runtime/clients.js';
import { loadConfig } from '../../runtime/config.js';

const site = { store: 'Test store', address: 'db.example:1234', database: 'shop', setting: 'SPOKEFLOW_SOURCE_SHOP_URL' };

/** An error shaped as the driver throws it (the fields the mapping reads). */
const driverError = (message: string, fields: Record<string, unknown>) => Object.assign(new Error(message), fields);
const mysqlError = (code: string, errno: number) => driverError(`${code} said the server`, { code, errno, sqlState: 'HY000' });
const pgError = (code: string) => driverError(`SQLSTATE ${code} said the server`, { code, severity: 'ERROR' });
const nodeError = (code: string) => driverError(`connect ${code}`, { code, syscall: 'connect' });

const cases: [string, ClassifyError, Error, string | undefined][] = [
  ['mysql wrong password', mysqlErrorClassifier(site), mysqlError('ER_ACCESS_DENIED_ERROR', 1045), 'AuthenticationFailed'],
  ['mysql no access to the database', mysqlErrorClassifier(site), mysqlError('ER_DBACCESS_DENIED_ERROR', 1044), 'PermissionDenied'],
  ['mysql unknown database', mysqlErrorClassifier(site), mysqlError('ER_BAD_DB_ERROR', 1049), 'UnknownDatabase'],
  ['mysql no such table', mysqlErrorClassifier(site), mysqlError('ER_NO_SUCH_TABLE', 1146), 'MissingTable'],
  ['mysql no such column', mysqlErrorClassifier(site), mysqlError('ER_BAD_FIELD_ERROR', 1054), 'MissingColumn'],
  ['mysql syntax error', mysqlErrorClassifier(site), mysqlError('ER_PARSE_ERROR', 1064), 'QuerySyntax'],
  ['mysql table access denied', mysqlErrorClassifier(site), mysqlError('ER_TABLEACCESS_DENIED_ERROR', 1142), 'PermissionDenied'],
  ['mysql read-only transaction', mysqlErrorClassifier(site), mysqlError('ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION', 1792), 'ReadOnly'],
  ['mysql --read-only server', mysqlErrorClassifier(site), mysqlError('ER_OPTION_PREVENTS_STATEMENT', 1290), 'ReadOnly'],
  ['mysql deadlock', mysqlErrorClassifier(site), mysqlError('ER_LOCK_DEADLOCK', 1213), undefined],
  ['mysql too many connections', mysqlErrorClassifier(site), mysqlError('ER_CON_COUNT_ERROR', 1040), undefined],
  ['mysql lost connection', mysqlErrorClassifier(site), driverError('lost', { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }), undefined],
  [
    'mysql unknown host',
    mysqlErrorClassifier(site),
    driverError('getaddrinfo ENOTFOUND nohost', { code: 'ENOTFOUND', hostname: 'nohost' }),
    'UnknownHost',
  ],
  ['mysql refused', mysqlErrorClassifier(site), nodeError('ECONNREFUSED'), undefined],
  ['postgres wrong password', postgresErrorClassifier(site), pgError('28P01'), 'AuthenticationFailed'],
  ['postgres unknown database', postgresErrorClassifier(site), pgError('3D000'), 'UnknownDatabase'],
  ['postgres no such table', postgresErrorClassifier(site), pgError('42P01'), 'MissingTable'],
  ['postgres no such column', postgresErrorClassifier(site), pgError('42703'), 'MissingColumn'],
  ['postgres syntax error', postgresErrorClassifier(site), pgError('42601'), 'QuerySyntax'],
  ['postgres permission denied', postgresErrorClassifier(site), pgError('42501'), 'PermissionDenied'],
  ['postgres read-only transaction', postgresErrorClassifier(site), pgError('25006'), 'ReadOnly'],
  ['postgres shutting down', postgresErrorClassifier(site), pgError('57P01'), undefined],
  ['postgres serialization failure', postgresErrorClassifier(site), pgError('40001'), undefined],
  ['postgres reset', postgresErrorClassifier(site), nodeError('ECONNRESET'), undefined],
  ['postgres timed out', postgresErrorClassifier(site), nodeError('ETIMEDOUT'), undefined],
  ['postgres code without severity is not a server error', postgresErrorClassifier(site), driverError('x', { code: '28P01' }), undefined],
  [
    'minio wrong key',
    minioErrorClassifier(site),
    driverError('key', { name: 'S3Error', code: 'InvalidAccessKeyId' }),
    'AuthenticationFailed',
  ],
  [
    'minio wrong secret',
    minioErrorClassifier(site),
    driverError('sig', { name: 'S3Error', code: 'SignatureDoesNotMatch' }),
    'AuthenticationFailed',
  ],
  ['minio access denied', minioErrorClassifier(site), driverError('denied', { name: 'S3Error', code: 'AccessDenied' }), 'PermissionDenied'],
  ['minio no bucket', minioErrorClassifier(site), driverError('bucket', { name: 'S3Error', code: 'NoSuchBucket' }), 'UnknownBucket'],
  ['minio slow down', minioErrorClassifier(site), driverError('slow', { name: 'S3Error', code: 'SlowDown' }), undefined],
  [
    'influx bad token',
    influxErrorClassifier(site),
    driverError('unauthorized', { name: 'HttpError', statusCode: 401 }),
    'AuthenticationFailed',
  ],
  ['influx forbidden', influxErrorClassifier(site), driverError('forbidden', { name: 'HttpError', statusCode: 403 }), 'PermissionDenied'],
  ['influx no bucket', influxErrorClassifier(site), driverError('not found', { name: 'HttpError', statusCode: 404 }), 'UnknownBucket'],
  ['influx unavailable', influxErrorClassifier(site), driverError('unavailable', { name: 'HttpError', statusCode: 503 }), undefined],
  [
    'smtp login refused',
    smtpErrorClassifier(site),
    driverError('Invalid login', { code: 'EAUTH', command: 'AUTH PLAIN' }),
    'AuthenticationFailed',
  ],
  ['smtp connection failed', smtpErrorClassifier(site), driverError('refused', { code: 'ECONNECTION' }), undefined],
  ['an already classified failure', mysqlErrorClassifier(site), ApplicationFailure.nonRetryable('bad', 'InvalidInput'), undefined],
];

describe('store error classification', () => {
  it.each(cases)('%s', (_name, classify, err, type) => {
    const failure = classify(err);
    if (type === undefined) {
      expect(failure).toBeUndefined();
      return;
    }
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type, nonRetryable: true });
    // Where, what the server said, and what to fix.
    expect(failure!.message).toContain('Test store at db.example:1234/shop');
    expect(failure!.message).toContain(err.message);
    expect(failure!.details?.[0]).toMatchObject({ store: 'Test store', address: 'db.example:1234', setting: 'SPOKEFLOW_SOURCE_SHOP_URL' });
  });

  it('names the setting to fix a wrong password, never the password', () => {
    const failure = mysqlErrorClassifier(site)(mysqlError('ER_ACCESS_DENIED_ERROR', 1045))!;
    expect(failure.message).toMatch(/check the user and password in SPOKEFLOW_SOURCE_SHOP_URL$/);
  });

  it("picks each shared client's mapping by the driver's error shape, and a bare unknown host by its host", () => {
    const config = loadConfig({ MYSQL_HOST: 'catalog.internal', PGHOST: 'vectors.internal', MINIO_ENDPOINT: 'objects.internal' });
    const classify = storeErrorClassifier(config);
    expect(classify(mysqlError('ER_BAD_DB_ERROR', 1049))?.message).toMatch(
      /^MySQL catalog at catalog\.internal:3306\/spokeflow: unknown database/,
    );
    expect(classify(pgError('28P01'))?.message).toMatch(/^Postgres vector index at vectors\.internal:5432/);
    expect(classify(driverError('x', { name: 'S3Error', code: 'NoSuchBucket' }))?.message).toMatch(/^MinIO at objects\.internal:9000/);
    expect(classify(driverError('x', { name: 'HttpError', statusCode: 401 }))?.message).toMatch(/^InfluxDB at 127\.0\.0\.1:8086/);
    const unknownHost = classify(
      driverError('getaddrinfo ENOTFOUND vectors.internal', { code: 'ENOTFOUND', hostname: 'vectors.internal' }),
    );
    expect(unknownHost).toMatchObject({ type: 'UnknownHost', nonRetryable: true });
    expect(unknownHost?.message).toMatch(/^Postgres vector index/);
    expect(classify(nodeError('ECONNREFUSED'))).toBeUndefined();
    expect(storesErrorClassifier([])(mysqlError('ER_BAD_DB_ERROR', 1049))).toBeUndefined();
  });

  it('classifies what an object’s methods throw and passes everything else through', async () => {
    const refused = nodeError('ECONNREFUSED');
    const wrapped = withErrorClassification(
      {
        label: 'kept',
        async denied(): Promise<void> {
          throw mysqlError('ER_ACCESS_DENIED_ERROR', 1045);
        },
        async refused(): Promise<void> {
          throw refused;
        },
        async ok(n: number): Promise<number> {
          return n + 1;
        },
      },
      mysqlErrorClassifier(site),
    );
    expect(wrapped.label).toBe('kept');
    await expect(wrapped.ok(1)).resolves.toBe(2);
    await expect(wrapped.denied()).rejects.toMatchObject({ type: 'AuthenticationFailed', nonRetryable: true });
    await expect(wrapped.refused()).rejects.toBe(refused);
  });
});
