/**
 * Bucket administration behind one small adapter: InfluxDB 1.8 (local stack) has databases and
 * retention policies, 2.x has buckets; the write and Flux APIs are the same.
 */
export interface InfluxAdmin {
  ensureBucket(): Promise<void>;
}

interface InfluxSettings {
  url: string;
  token: string;
  org: string;
  bucket: string;
  flavor: 'v1' | 'v2';
}

async function check(response: Response, what: string): Promise<unknown> {
  const text = await response.text();
  if (!response.ok) throw new Error(`InfluxDB ${what}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

export function createInfluxAdmin(s: InfluxSettings): InfluxAdmin {
  const base = s.url.replace(/\/$/, '');
  if (s.flavor === 'v1') {
    return {
      async ensureBucket() {
        const database = s.bucket.split('/')[0]!;
        const [user, password] = s.token.split(':');
        const body = new URLSearchParams({ q: `CREATE DATABASE "${database.replaceAll('"', '\\"')}"` });
        if (user) body.set('u', user);
        if (password) body.set('p', password);
        await check(await fetch(`${base}/query`, { method: 'POST', body }), 'CREATE DATABASE');
      },
    };
  }
  const headers = { Authorization: `Token ${s.token}`, 'Content-Type': 'application/json' };
  return {
    async ensureBucket() {
      const found = (await check(
        await fetch(`${base}/api/v2/buckets?name=${encodeURIComponent(s.bucket)}&org=${encodeURIComponent(s.org)}`, { headers }),
        'list buckets',
      )) as { buckets: unknown[] };
      if (found.buckets.length > 0) return;
      const orgs = (await check(await fetch(`${base}/api/v2/orgs?org=${encodeURIComponent(s.org)}`, { headers }), 'find org')) as {
        orgs: { id: string }[];
      };
      const orgID = orgs.orgs[0]?.id;
      if (!orgID) throw new Error(`InfluxDB org "${s.org}" not found`);
      await check(
        await fetch(`${base}/api/v2/buckets`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ name: s.bucket, orgID, retentionRules: [] }),
        }),
        'create bucket',
      );
    },
  };
}
