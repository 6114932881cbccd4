import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DOMAINS, TaskQueue, type Domain } from '../../common/task-queues.js';
import { ConfigSchema, loadConfig } from '../../runtime/config.js';
import { TELEMETRY_SETTINGS } from '../../runtime/tracing.js';

// The deployment files as a cluster, Compose or Docker would read them: the chart linted and rendered
// by the real helm, the Dockerfile by hadolint, and every setting checked against runtime/config.ts.
const ROOT = path.resolve(import.meta.dirname, '../..');
const CHART = path.join(ROOT, 'infra/helm/spokeflow');
const tool = (name: string) => execFileSync('bash', [path.join(ROOT, 'infra/local/deploy-tools.sh'), name], { encoding: 'utf8' }).trim();

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered manifests are untyped YAML */
type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: any;
  data?: any;
};

const SOURCE_URL = /^SPOKEFLOW_SOURCE_[A-Z0-9_]+_URL$/;
const isSetting = (name: string) =>
  name in ConfigSchema.shape || SOURCE_URL.test(name) || (TELEMETRY_SETTINGS as readonly string[]).includes(name);

describe('Helm chart infra/helm/spokeflow', () => {
  let helm: string;
  const render = (valuesFile?: string): Manifest[] => {
    const args = ['template', 'rel', CHART, ...(valuesFile ? ['-f', path.join(CHART, 'ci', valuesFile)] : [])];
    const docs = parseAllDocuments(execFileSync(helm, args, { encoding: 'utf8' }));
    return docs.map((d) => d.toJS() as Manifest).filter(Boolean);
  };
  const ofKind = (ms: Manifest[], kind: string) => ms.filter((m) => m.kind === kind);
  const domainOf = (m: Manifest) => m.metadata.labels?.['app.kubernetes.io/component']?.replace(/-worker$/, '') as Domain;
  const container = (d: Manifest) => d.spec.template.spec.containers[0];

  /** The worker's environment as the kubelet would give it, with each mounted file under `root`. */
  function podEnv(ms: Manifest[], d: Manifest, root: string, secrets: Record<string, string>): NodeJS.ProcessEnv {
    const c = container(d);
    const configMaps = c.envFrom.map((e: any) => ofKind(ms, 'ConfigMap').find((m) => m.metadata.name === e.configMapRef.name));
    const env: NodeJS.ProcessEnv = Object.assign({}, ...configMaps.map((m: Manifest) => m.data));
    for (const e of c.env ?? []) env[e.name] = String(e.value).replace(/^\/etc\/spokeflow/, root);
    // Lay out the volumes the container mounts, each Secret key under the path the pod sees.
    for (const mount of c.volumeMounts) {
      const volume = d.spec.template.spec.volumes.find((v: any) => v.name === mount.name);
      const items = [
        ...(volume.projected?.sources ?? []).map((s: any) => ({ secret: s.secret.name, ...s.secret.items[0] })),
        ...(volume.secret?.items ?? []).map((i: any) => ({ secret: volume.secret.secretName, ...i })),
      ];
      for (const item of items) {
        const file = path.join(mount.mountPath.replace(/^\/etc\/spokeflow/, root), item.path);
        mkdirSync(path.dirname(file), { recursive: true });
        const content = secrets[`${item.secret}/${item.key}`];
        expect(content, `a test secret for ${item.secret}/${item.key}`).toBeDefined();
        writeFileSync(file, `${content}\n`);
      }
    }
    return env;
  }

  let scratch: string;
  // Built once from the Go module proxy into .stack/bin; `npm test` starts that build in the
  // background before the unit tests, and this waits for it (minutes on a new machine, then instant).
  beforeAll(() => {
    helm = tool('helm');
    scratch = mkdtempSync(path.join(tmpdir(), 'spokeflow-chart-'));
  }, 30 * 60_000);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('passes helm lint --strict with the default values and each example values file', () => {
    for (const values of [undefined, 'mtls-keda-values.yaml', 'api-key-values.yaml']) {
      const r = spawnSync(helm, ['lint', '--strict', CHART, ...(values ? ['-f', path.join(CHART, 'ci', values)] : [])], {
        encoding: 'utf8',
      });
      expect(r.status, `${values ?? 'defaults'}: ${r.stdout}${r.stderr}`).toBe(0);
    }
  });

  it('refuses values the schema does not allow', () => {
    const r = spawnSync(helm, ['template', 'rel', CHART, '--set', 'workers.pipelines.enabled=true'], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/pipelines/);
  });

  it('renders one worker Deployment per task queue, each running its own domain and probed on the health port', () => {
    const ms = render();
    const deployments = ofKind(ms, 'Deployment');
    expect(deployments.map(domainOf).sort()).toEqual([...DOMAINS].sort());
    const settings = ofKind(ms, 'ConfigMap')[0]!.data as Record<string, string>;
    const healthPort = Number(settings.SPOKEFLOW_HEALTH_BIND!.split(':')[1]);
    for (const d of deployments) {
      const domain = domainOf(d);
      const c = container(d);
      expect(d.metadata.labels!['spokeflow.io/task-queue']).toBe(TaskQueue[domain]);
      expect(c.args).toEqual([`dist/workers/${domain}.js`]);
      expect(existsSync(path.join(ROOT, 'workers', `${domain}.ts`))).toBe(true); // compiled to that entry
      const metricsPort = Number(settings.SPOKEFLOW_PROMETHEUS_BIND!.split(':')[1]);
      expect(c.ports).toEqual([
        { name: 'health', containerPort: healthPort, protocol: 'TCP' },
        { name: 'metrics', containerPort: metricsPort, protocol: 'TCP' },
      ]);
      expect(d.spec.template.metadata.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(metricsPort),
      });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'health' });
      expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'health' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'health' });
      // The kubelet waits out the SDK's drain (SPOKEFLOW_SHUTDOWN_GRACE) before it kills.
      expect(d.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(seconds(settings.SPOKEFLOW_SHUTDOWN_GRACE!));
      expect(d.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
      expect(d.spec.selector.matchLabels).toEqual(
        Object.fromEntries(Object.entries(d.spec.template.metadata.labels).filter(([k]) => k in d.spec.selector.matchLabels)),
      );
    }
    // The chart's default drain is the worker's own default.
    expect(settings.SPOKEFLOW_SHUTDOWN_GRACE).toBe(ConfigSchema.shape.SPOKEFLOW_SHUTDOWN_GRACE.parse(undefined));
    expect(ofKind(ms, 'ScaledObject')).toEqual([]); // KEDA is opt-in
  });

  it('gives each Deployment a PodDisruptionBudget selecting exactly its pods', () => {
    const ms = render();
    const deployments = ofKind(ms, 'Deployment');
    const pdbs = ofKind(ms, 'PodDisruptionBudget');
    expect(pdbs).toHaveLength(deployments.length);
    for (const pdb of pdbs) {
      const selects = (d: Manifest) =>
        Object.entries(pdb.spec.selector.matchLabels).every(([k, v]) => d.spec.template.metadata.labels[k] === v);
      expect(deployments.filter(selects).map((d) => d.metadata.name)).toEqual([pdb.metadata.name]);
      expect(pdb.apiVersion).toBe('policy/v1');
    }
  });

  it('names only real settings, and secrets only by reference: a worker given the mounted files loads them', () => {
    const ms = render();
    for (const key of Object.keys(ofKind(ms, 'ConfigMap')[0]!.data)) expect(isSetting(key), key).toBe(true);
    const d = ofKind(ms, 'Deployment').find((m) => domainOf(m) === 'ingestion')!;
    for (const e of container(d).env) expect(isSetting(e.name.replace(/_FILE$/, '')) || isSetting(e.name), e.name).toBe(true);
    expect(JSON.stringify(ms)).not.toMatch(/spokeflow-secret|password:/i);

    const root = path.join(scratch, 'defaults');
    const config = loadConfig(
      podEnv(ms, d, root, {
        'spokeflow-mysql/password': 'my-pass',
        'spokeflow-postgres/password': 'pg-pass',
        'spokeflow-minio/access-key': 'access',
        'spokeflow-minio/secret-key': 'secret',
        'spokeflow-influx/token': 'influx-token',
      }),
    );
    expect(config.mysql).toMatchObject({ host: 'mysql', password: 'my-pass' });
    expect(config.postgres.password).toBe('pg-pass');
    expect(config.minio).toMatchObject({ accessKey: 'access', secretKey: 'secret' });
    expect(config.influx).toMatchObject({ token: 'influx-token', flavor: 'v2' });
    expect(config.healthBind).toBe('0.0.0.0:8080');
    expect(config.temporal.tls).toBe(false);
  });

  it('with mTLS, a codec key, a source and KEDA: workers load the certificates and keys, the scaler watches each queue', () => {
    const ms = render('mtls-keda-values.yaml');
    const deployments = ofKind(ms, 'Deployment');
    expect(deployments.map(domainOf).sort()).toEqual(['ingestion', 'knowledge', 'quality']);
    for (const d of deployments) expect(d.spec.replicas).toBeUndefined(); // KEDA owns the count

    const d = deployments.find((m) => domainOf(m) === 'ingestion')!;
    const root = path.join(scratch, 'mtls');
    const env = podEnv(ms, d, root, {
      'spokeflow-mysql/password': 'p',
      'spokeflow-postgres/password': 'p',
      'spokeflow-minio/access-key': 'a',
      'spokeflow-minio/secret-key': 's',
      'spokeflow-influx/token': 't',
      'spokeflow-temporal-tls/ca.crt': 'CA PEM',
      'spokeflow-temporal-tls/tls.crt': 'CLIENT CERT PEM',
      'spokeflow-temporal-tls/tls.key': 'CLIENT KEY PEM',
      'spokeflow-codec/keys': 'k2:' + Buffer.alloc(32, 7).toString('base64'),
      'spokeflow-sources/shop-replica': 'postgres://reader:pw@replica:5432/shop',
      'spokeflow-smtp/url': 'smtp://mail:587',
    });
    const config = loadConfig(env);
    expect(config.temporal).toMatchObject({ address: 'temporal.example.internal:7233', namespace: 'data-platform' });
    expect(config.temporal.tls).not.toBe(false);
    const tls = config.temporal.tls as Exclude<typeof config.temporal.tls, false>;
    expect(tls.serverName).toBe('temporal.example.internal');
    expect(tls.serverCa?.toString()).toBe('CA PEM\n');
    expect(tls.client?.cert.toString()).toBe('CLIENT CERT PEM\n');
    expect(config.codec.keyId).toBe('k2');
    expect(readFileSync(config.codec.keysFile!, 'utf8')).toMatch(/^k2:/);
    expect(config.sourceUrls['shop-replica']).toBe('postgres://reader:pw@replica:5432/shop');
    expect(config.digests.smtpUrl).toBe('smtp://mail:587');

    // Traces to the collector named in the values, its credentials read from a Secret by reference.
    expect(ofKind(ms, 'ConfigMap')[0]!.data.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://otel-collector.observability:4318');
    expect(container(d).env).toContainEqual({
      name: 'OTEL_EXPORTER_OTLP_HEADERS',
      valueFrom: { secretKeyRef: { name: 'spokeflow-otel', key: 'headers' } },
    });

    const auth = ofKind(ms, 'TriggerAuthentication');
    expect(auth).toHaveLength(1);
    expect(auth[0]!.spec.secretTargetRef.map((r: any) => [r.parameter, r.name, r.key])).toEqual([
      ['ca', 'spokeflow-temporal-tls', 'ca.crt'],
      ['cert', 'spokeflow-temporal-tls', 'tls.crt'],
      ['key', 'spokeflow-temporal-tls', 'tls.key'],
    ]);
    const scaled = ofKind(ms, 'ScaledObject');
    expect(scaled.map((s) => s.spec.scaleTargetRef.name).sort()).toEqual(deployments.map((m) => m.metadata.name).sort());
    for (const s of scaled) {
      const trigger = s.spec.triggers[0];
      const target = deployments.find((m) => m.metadata.name === s.spec.scaleTargetRef.name)!;
      expect(trigger.type).toBe('temporal');
      expect(trigger.metadata).toMatchObject({ endpoint: config.temporal.address, namespace: 'data-platform' });
      expect(trigger.metadata.taskQueue).toBe(TaskQueue[domainOf(target)]);
      expect(trigger.authenticationRef.name).toBe(auth[0]!.metadata.name);
    }
  });

  it('with an API key: TLS on system CAs for the workers, the scaler and the migrations', () => {
    const ms = render('api-key-values.yaml');
    const d = ofKind(ms, 'Deployment').find((m) => domainOf(m) === 'quality')!;
    const config = loadConfig(
      podEnv(ms, d, path.join(scratch, 'api-key'), {
        'spokeflow-mysql/password': 'p',
        'spokeflow-postgres/password': 'p',
        'spokeflow-minio/access-key': 'a',
        'spokeflow-minio/secret-key': 's',
        'spokeflow-influx/token': 't',
        'spokeflow-temporal-api-key/api-key': 'the-api-key',
      }),
    );
    expect(config.temporal.apiKey?.reveal()).toBe('the-api-key');
    expect(config.temporal.tls).toMatchObject({ serverCa: undefined, client: undefined });
    const auth = ofKind(ms, 'TriggerAuthentication')[0]!;
    expect(auth.spec.secretTargetRef).toEqual([{ parameter: 'apiKey', name: 'spokeflow-temporal-api-key', key: 'api-key' }]);
    for (const s of ofKind(ms, 'ScaledObject')) expect(s.spec.triggers[0].metadata.enableTLS).toBe('true');
    const job = ofKind(ms, 'Job')[0]!;
    expect(job.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    expect(job.spec.template.spec.containers[0].args).toEqual(['dist/infra/migrate.js']);
    expect(job.spec.template.spec.containers[0].env).toContainEqual({
      name: 'TEMPORAL_API_KEY_FILE',
      value: '/etc/spokeflow/secrets/temporal-api-key',
    });
  });
});

describe('worker image and Compose services', () => {
  it(
    'the Dockerfile passes hadolint',
    () => {
      const r = spawnSync(tool('hadolint'), [path.join(ROOT, 'Dockerfile')], { encoding: 'utf8' });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    },
    5 * 60_000,
  );

  it('the runtime stage runs unprivileged node 20 with the built workers and the embedding model', () => {
    const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const stages = text.split(/^FROM /m).slice(1);
    const runtime = stages.at(-1)!;
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20[.\d]*-bookworm-slim$/m);
    expect(runtime).toMatch(/^\$\{NODE_IMAGE\} AS runtime/);
    expect(runtime).toMatch(/^USER (\d+):\d+$/m);
    expect(Number(/^USER (\d+)/m.exec(runtime)![1])).toBeGreaterThan(0);
    expect(runtime).toMatch(/^COPY --from=deps \/src\/node_modules/m);
    expect(stages.find((s) => s.includes(' AS deps'))).toMatch(/npm ci --omit=dev/);
    expect(stages.find((s) => s.includes(' AS build'))).toMatch(/npm run build/);
    const modelsDir = /SPOKEFLOW_MODELS_DIR=(\S+)/.exec(runtime)![1];
    expect(runtime).toContain(`COPY --from=model /stack/models ${modelsDir}`);
    expect(stages.find((s) => s.includes(' AS model'))).toContain('stack.sh model');
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['.stack', 'node_modules', 'dist', '.git']) expect(ignored).toContain(p);
  });

  // The file as docker compose resolves it (compose-go: schema, merge keys, profiles, references).
  const resolve = (file: string, ...profiles: string[]) =>
    spawnSync(tool('compose-check'), [file, ...profiles], { encoding: 'utf8', maxBuffer: 16 << 20 });

  it('docker-compose.yml runs one worker per domain from that image, after the stores and the migrations', () => {
    const r = resolve(path.join(ROOT, 'docker-compose.yml'), 'workers');
    expect(r.status, r.stderr).toBe(0);
    const compose = JSON.parse(r.stdout) as { services: Record<string, any> };
    const stores = ['temporal', 'mysql', 'postgres', 'minio', 'influxdb'];
    for (const domain of DOMAINS) {
      const s = compose.services[`worker-${domain}`];
      expect(s, domain).toBeDefined();
      expect(s.build).toEqual({ context: ROOT, dockerfile: 'Dockerfile' });
      expect(s.command).toEqual([`dist/workers/${domain}.js`]);
      expect(Object.keys(s.depends_on).sort()).toEqual([...stores, 'migrate'].sort());
      for (const dep of stores) {
        expect(compose.services[dep].healthcheck, dep).toBeDefined();
        expect(s.depends_on[dep].condition).toBe('service_healthy');
      }
      expect(s.depends_on.migrate.condition).toBe('service_completed_successfully');
      for (const name of Object.keys(s.environment)) expect(isSetting(name), name).toBe(true);
      expect(seconds(s.stop_grace_period)).toBeGreaterThan(seconds(ConfigSchema.shape.SPOKEFLOW_SHUTDOWN_GRACE.parse(undefined)));
      expect(s.healthcheck.test.join(' ')).toContain(`${s.environment.SPOKEFLOW_HEALTH_BIND.split(':')[1]}/readyz`);
      // Every host a worker dials is a service of this file.
      const hosts = [
        s.environment.MYSQL_HOST,
        s.environment.PGHOST,
        s.environment.MINIO_ENDPOINT,
        s.environment.TEMPORAL_ADDRESS.split(':')[0],
      ];
      for (const host of [...hosts, new URL(s.environment.INFLUX_URL).hostname]) expect(compose.services[host], host).toBeDefined();
    }
    expect(compose.services.migrate.command).toEqual(['dist/infra/migrate.js']);
  });

  it('the stack alone is unchanged: without the workers profile no worker service starts', () => {
    const r = resolve(path.join(ROOT, 'docker-compose.yml'));
    expect(r.status, r.stderr).toBe(0);
    expect(Object.keys((JSON.parse(r.stdout) as { services: object }).services).sort()).toEqual(
      ['influxdb', 'minio', 'mysql', 'postgres', 'temporal', 'temporal-ui'].sort(),
    );
  });

  it('the Compose check refuses a worker that depends on a service the file lacks', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spokeflow-compose-'));
    try {
      const file = path.join(dir, 'compose.yml');
      writeFileSync(file, 'services:\n  worker:\n    image: spokeflow:local\n    depends_on: [mysql]\n');
      const r = resolve(file);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/mysql/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function seconds(grace: string): number {
  return Number(/^(\d+)s$/.exec(grace)?.[1]);
}
