import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { describeIssues } from '../common/errors.js';
import { packageFile } from './package-paths.js';
import { loadTemporalSettings, TEMPORAL_DEFAULTS } from './temporal-profile.js';

const port = z.coerce.number().int().min(1).max(65_535);

/**
 * Every setting, from the environment, with the local stack's defaults. One schema is the source
 * for validation and for the configuration reference in the README.
 */
export const ConfigSchema = z.object({
  // The Temporal connection is read by @temporalio/envconfig (runtime/temporal-profile.ts); these
  // entries validate and document its variables.
  TEMPORAL_ADDRESS: z.string().default(TEMPORAL_DEFAULTS.address).describe('Temporal frontend host:port (over the TOML profile)'),
  TEMPORAL_NAMESPACE: z.string().default(TEMPORAL_DEFAULTS.namespace).describe('Temporal namespace (over the TOML profile)'),
  TEMPORAL_CONFIG_FILE: z.string().optional().describe('TOML file of connection profiles; default ~/.config/temporalio/temporal.toml'),
  TEMPORAL_PROFILE: z.string().optional().describe('profile of that file; default `default`'),
  TEMPORAL_TLS: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .describe('force TLS on or off (on by itself with any TLS setting or an API key)'),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z
    .string()
    .optional()
    .describe("CA certificate that signed the server's (PEM); unset: the system's CAs"),
  TEMPORAL_TLS_SERVER_NAME: z.string().optional().describe('name the server certificate carries, when not the host of the address'),
  TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().optional().describe('mTLS client certificate (PEM)'),
  TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().optional().describe('mTLS client key (PEM); never printed'),
  TEMPORAL_API_KEY: z.string().optional().describe('API key sent as a bearer token (implies TLS); never printed'),
  TEMPORAL_UI_URL: z.string().url().default('http://127.0.0.1:8233').describe('Temporal Web UI, for links'),
  MYSQL_HOST: z.string().default('127.0.0.1').describe('MySQL/MariaDB host of the catalog and silver tables'),
  MYSQL_PORT: port.default(3306).describe('MySQL/MariaDB port'),
  MYSQL_USER: z.string().default('spokeflow').describe('MySQL user (needs CREATE/ALTER on both databases)'),
  MYSQL_PASSWORD: z.string().default('spokeflow').describe('MySQL password'),
  MYSQL_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .default('spokeflow')
    .describe('catalog database'),
  MYSQL_SILVER_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
    .default('spokeflow_silver')
    .describe('database of the silver tables'),
  PGHOST: z.string().default('127.0.0.1').describe('Postgres host (local source and the pgvector index)'),
  PGPORT: port.default(5432).describe('Postgres port'),
  PGUSER: z.string().default('spokeflow').describe('Postgres user'),
  PGPASSWORD: z.string().default('spokeflow').describe('Postgres password'),
  PGDATABASE: z.string().default('spokeflow').describe('Postgres database (the demo shop lives in its schema `shop`)'),
  MINIO_ENDPOINT: z.string().default('127.0.0.1').describe('MinIO (or any S3) host'),
  MINIO_PORT: port.default(9000).describe('MinIO API port'),
  MINIO_USE_SSL: z.enum(['true', 'false']).default('false').describe('https to MinIO'),
  MINIO_ACCESS_KEY: z.string().default('spokeflow').describe('MinIO access key (root user locally)'),
  MINIO_SECRET_KEY: z.string().default('spokeflow-secret').describe('MinIO secret key'),
  MINIO_BRONZE_BUCKET: z.string().default('spokeflow-bronze').describe('bucket of the bronze objects'),
  INFLUX_URL: z.string().url().default('http://127.0.0.1:8086').describe('InfluxDB base URL'),
  INFLUX_TOKEN: z.string().default('spokeflow:spokeflow').describe('v2 token; on InfluxDB 1.8 `user:password`'),
  INFLUX_ORG: z.string().default('spokeflow').describe('InfluxDB org (ignored by 1.8)'),
  INFLUX_BUCKET: z.string().default('spokeflow/autogen').describe('on InfluxDB 1.8 `database/retention-policy`'),
  INFLUX_FLAVOR: z.enum(['v1', 'v2']).default('v1').describe('v1: InfluxDB 1.8 with the v2 API (local stack); v2: InfluxDB 2.x'),
  SPOKEFLOW_SHUTDOWN_GRACE: z.string().default('30s').describe('how long a stopping worker lets in-flight work finish'),
  SPOKEFLOW_TASK_QUEUE: z
    .string()
    .optional()
    .describe("task queue a single-domain worker polls instead of its domain's own (benchmarks, canaries); unset: the domain's queue"),
  SPOKEFLOW_HEALTH_BIND: z
    .string()
    .optional()
    .describe("host:port of the worker's probes: `/healthz` (live) and `/readyz` (polling; 503 while starting or draining); unset: none"),
  SPOKEFLOW_EMBEDDING_PROVIDER: z
    .enum(['local', 'http'])
    .default('local')
    .describe('local: all-MiniLM-L6-v2 in-process (offline); http: an OpenAI-compatible /v1/embeddings endpoint'),
  SPOKEFLOW_MODELS_DIR: z
    .string()
    .default('')
    .describe('folder of the local models (stack.sh installs all-MiniLM-L6-v2 there); default .stack/models'),
  SPOKEFLOW_EMBEDDING_URL: z
    .string()
    .url()
    .optional()
    .describe('base URL of the OpenAI-compatible endpoint, e.g. https://api.openai.com/v1 or http://127.0.0.1:11434/v1'),
  SPOKEFLOW_EMBEDDING_MODEL: z
    .string()
    .default('all-minilm')
    .describe('model name sent to the endpoint (it must return 384-dimension vectors)'),
  SPOKEFLOW_EMBEDDING_MODEL_VERSION: z
    .string()
    .default('')
    .describe("the endpoint model's version, recorded with each vector: change it to re-embed everything"),
  SPOKEFLOW_EMBEDDING_API_KEY: z.string().default('').describe('bearer token of the endpoint (empty: none)'),
  SPOKEFLOW_EMBEDDING_SEND_DIMENSIONS: z
    .enum(['true', 'false'])
    .default('false')
    .describe('send dimensions: 384 (OpenAI text-embedding-3 models shorten their vectors)'),
  SPOKEFLOW_VECTOR_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('knowledge')
    .describe('Postgres schema of the vector index (pgvector)'),
  SPOKEFLOW_DIGEST_BUCKET: z
    .string()
    .default('spokeflow-digests')
    .describe('bucket of the rendered digests (one HTML object per recipient and period)'),
  SPOKEFLOW_SMTP_URL: z
    .string()
    .optional()
    .describe('SMTP server of the email digests, e.g. smtp://user:pass@mail:587 or smtps://…; unset: no email channel'),
  SPOKEFLOW_SMTP_CONNECTIONS: z.coerce.number().int().min(1).max(64).default(8).describe('pooled SMTP connections per worker'),
  SPOKEFLOW_DIGEST_FROM: z
    .string()
    .default('spokeflow <digests@spokeflow.localhost>')
    .describe('From of the email digests; its domain ends every Message-ID'),
  SPOKEFLOW_DIGEST_TEAM_EMAIL: z
    .string()
    .includes('{team}')
    .default('{team}@teams.localhost')
    .describe('address of a team digest; {team} is the team slug'),
  SPOKEFLOW_DIGEST_WEBHOOK_URL: z
    .string()
    .url()
    .optional()
    .describe('Slack-compatible incoming webhook of the digests; unset: no webhook channel'),
  SPOKEFLOW_CODEC_KEYS: z
    .string()
    .optional()
    .describe('payload encryption keys, `id:base64key,…` (32-byte AES-256 keys); unset with no file: payloads stay plain'),
  SPOKEFLOW_CODEC_KEYS_FILE: z.string().optional().describe('file of payload encryption keys, `id:base64key` per line or comma'),
  SPOKEFLOW_CODEC_KEY_ID: z.string().optional().describe('id of the key new payloads are encrypted with; default the first key'),
  SPOKEFLOW_FLOW_SECRETS_DIR: z
    .string()
    .optional()
    .describe(
      'folder of OpenFlow variables and resources by path ($var:f/x/token → <dir>/f/x/token, $res:f/x/db → <dir>/f/x/db.json), beside SPOKEFLOW_VAR_<PATH> / SPOKEFLOW_RES_<PATH>',
    ),
  SPOKEFLOW_CODEC_SERVER_TOKEN: z.string().optional().describe('bearer token `spokeflow codec-server` requires of every request'),
  SPOKEFLOW_CODEC_SERVER_ORIGINS: z
    .string()
    .default('http://localhost:8233,http://127.0.0.1:8233')
    .describe('Web UI origins the codec server allows (CORS), comma-separated'),
});

const SOURCE_URL = /^SPOKEFLOW_SOURCE_[A-Z0-9_]+_URL$/;

/**
 * `<NAME>_FILE` for any setting (and any SPOKEFLOW_SOURCE_<NAME>_URL): its value is read from that
 * file (a mounted Kubernetes Secret, say), trailing newline dropped, so secrets need not sit in the environment.
 */
export function withFileVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const resolved = { ...env };
  for (const [fileVar, path] of Object.entries(env)) {
    if (!fileVar.endsWith('_FILE') || !path || fileVar in ConfigSchema.shape) continue; // SPOKEFLOW_CODEC_KEYS_FILE is a setting of its own
    const name = fileVar.slice(0, -'_FILE'.length);
    if (!(name in ConfigSchema.shape) && !SOURCE_URL.test(name)) continue;
    if (env[name] !== undefined) throw new Error(`invalid configuration: set ${name} or ${fileVar}, not both`);
    try {
      resolved[name] = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new Error(`invalid configuration: ${fileVar}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return resolved;
}

export function loadConfig(rawEnv: NodeJS.ProcessEnv = process.env) {
  const env = withFileVariables(rawEnv);
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid configuration: ${describeIssues(parsed.error)}`);
  const e = parsed.data;
  return {
    temporal: { ...loadTemporalSettings(env), uiUrl: e.TEMPORAL_UI_URL },
    mysql: {
      host: e.MYSQL_HOST,
      port: e.MYSQL_PORT,
      user: e.MYSQL_USER,
      password: e.MYSQL_PASSWORD,
      database: e.MYSQL_DATABASE,
      silverDatabase: e.MYSQL_SILVER_DATABASE,
    },
    postgres: { host: e.PGHOST, port: e.PGPORT, user: e.PGUSER, password: e.PGPASSWORD, database: e.PGDATABASE },
    minio: {
      endPoint: e.MINIO_ENDPOINT,
      port: e.MINIO_PORT,
      useSSL: e.MINIO_USE_SSL === 'true',
      accessKey: e.MINIO_ACCESS_KEY,
      secretKey: e.MINIO_SECRET_KEY,
      bronzeBucket: e.MINIO_BRONZE_BUCKET,
    },
    influx: { url: e.INFLUX_URL, token: e.INFLUX_TOKEN, org: e.INFLUX_ORG, bucket: e.INFLUX_BUCKET, flavor: e.INFLUX_FLAVOR },
    shutdownGrace: e.SPOKEFLOW_SHUTDOWN_GRACE,
    healthBind: e.SPOKEFLOW_HEALTH_BIND,
    taskQueue: e.SPOKEFLOW_TASK_QUEUE,
    embeddings: {
      provider: e.SPOKEFLOW_EMBEDDING_PROVIDER,
      modelsDir: e.SPOKEFLOW_MODELS_DIR || fileURLToPath(packageFile('.stack/models')),
      url: e.SPOKEFLOW_EMBEDDING_URL,
      model: e.SPOKEFLOW_EMBEDDING_MODEL,
      modelVersion: e.SPOKEFLOW_EMBEDDING_MODEL_VERSION,
      apiKey: e.SPOKEFLOW_EMBEDDING_API_KEY,
      sendDimensions: e.SPOKEFLOW_EMBEDDING_SEND_DIMENSIONS === 'true',
    },
    vectors: { schema: e.SPOKEFLOW_VECTOR_SCHEMA },
    digests: {
      bucket: e.SPOKEFLOW_DIGEST_BUCKET,
      smtpUrl: e.SPOKEFLOW_SMTP_URL,
      smtpConnections: e.SPOKEFLOW_SMTP_CONNECTIONS,
      from: e.SPOKEFLOW_DIGEST_FROM,
      teamEmail: e.SPOKEFLOW_DIGEST_TEAM_EMAIL,
      webhookUrl: e.SPOKEFLOW_DIGEST_WEBHOOK_URL,
    },
    /** Where rawscript steps' `$var:` / `$res:` arguments resolve besides the environment. */
    flowSecretsDir: e.SPOKEFLOW_FLOW_SECRETS_DIR,
    codec: { keys: e.SPOKEFLOW_CODEC_KEYS, keysFile: e.SPOKEFLOW_CODEC_KEYS_FILE, keyId: e.SPOKEFLOW_CODEC_KEY_ID },
    codecServer: {
      token: e.SPOKEFLOW_CODEC_SERVER_TOKEN,
      origins: e.SPOKEFLOW_CODEC_SERVER_ORIGINS.split(',')
        .map((o) => o.trim())
        .filter(Boolean),
    },
    /** Source connection URLs by name, from SPOKEFLOW_SOURCE_<NAME>_URL (or its _FILE). */
    sourceUrls: Object.fromEntries(
      Object.entries(env)
        .filter(([k, v]) => SOURCE_URL.test(k) && v)
        .map(([k, v]) => [k.slice('SPOKEFLOW_SOURCE_'.length, -'_URL'.length).toLowerCase().replaceAll('_', '-'), v!]),
    ),
  };
}
export type SpokeflowConfig = ReturnType<typeof loadConfig>;

/** URL of a source connection; `local-postgres` and `local-mysql` default to the stack's own servers. */
export function sourceUrl(config: SpokeflowConfig, name: string): string | undefined {
  const configured = config.sourceUrls[name];
  if (configured) return configured;
  const enc = encodeURIComponent;
  if (name === 'local-postgres') {
    const p = config.postgres;
    return `postgres://${enc(p.user)}:${enc(p.password)}@${p.host}:${p.port}/${enc(p.database)}`;
  }
  if (name === 'local-mysql') {
    const m = config.mysql;
    return `mysql://${enc(m.user)}:${enc(m.password)}@${m.host}:${m.port}/${enc(m.database)}`;
  }
  return undefined;
}
