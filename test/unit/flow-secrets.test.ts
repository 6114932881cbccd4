import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateExpression } from '../../activities/pipeline/flow-expressions.js';
import { resolveReferences } from '../../activities/scripts/flow-secrets.js';
import { runProblems } from '../../common/openflow/run.js';
import { checkFlow } from '../../common/openflow/validate.js';

describe("rawscript arguments' $var: and $res: references, resolved on the activity side", () => {
  it('reads variables and resources from the environment, then from the secrets folder, and blanks them out of logs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flow-secrets-'));
    await mkdir(join(dir, 'f/shop'), { recursive: true });
    await writeFile(join(dir, 'f/shop/db.json'), '{"host":"db.internal","password":"hunter22"}\n');
    await writeFile(join(dir, 'f/shop/api_token'), 'from-the-folder\n');
    const env = { SPOKEFLOW_VAR_F_SHOP_API_TOKEN: 'tok-123456' };
    const { args, redact } = await resolveReferences(
      { token: '$var:f/shop/api_token', db: '$res:f/shop/db', nested: { list: ['$var:f/shop/api_token', 'plain'] }, n: 3 },
      { env, dir },
    );
    expect(args).toEqual({
      token: 'tok-123456', // the environment first
      db: { host: 'db.internal', password: 'hunter22' },
      nested: { list: ['tok-123456', 'plain'] },
      n: 3,
    });
    expect(redact('connecting to db.internal as tok-123456 with hunter22; plain text stays')).toBe(
      'connecting to *** as *** with ***; plain text stays',
    );
    expect((await resolveReferences({ t: '$var:f/shop/api_token' }, { env: {}, dir })).args.t).toBe('from-the-folder');
  });

  it('refuses a reference nothing sets, naming the argument and where it was looked for; keeps what it is told to', async () => {
    await expect(resolveReferences({ token: '$var:f/shop/nope' }, { env: {}, dir: '/secrets' })).rejects.toThrow(
      'input_transforms.token: variable f/shop/nope is not set on this worker (SPOKEFLOW_VAR_F_SHOP_NOPE or /secrets/f/shop/nope)',
    );
    // A path that climbs out of the folder is never read.
    await expect(resolveReferences({ db: '$res:f/../../etc/passwd' }, { env: {}, dir: '/secrets' })).rejects.toThrow(
      /resource f\/\.\.\/\.\.\/etc\/passwd is not set/,
    );
    const kept = await resolveReferences({ database: '$res:u/admin/local_postgres' }, { env: {} }, (arg) => arg === 'database');
    expect(kept.args.database).toBe('$res:u/admin/local_postgres');
  });

  it('gives variable() and resource() in expressions as references, so history holds no secret', async () => {
    expect(await evaluateExpression("({ t: variable('f/shop/api_token'), r: resource('f/shop/db') })", { flow_input: {} })).toEqual({
      t: '$var:f/shop/api_token',
      r: '$res:f/shop/db',
    });
  });

  it('lets references through in rawscript steps only', () => {
    const flow = checkFlow({
      summary: '',
      value: {
        modules: [
          {
            id: 'raw',
            value: { type: 'rawscript', language: 'bash', content: 'echo', input_transforms: { t: { type: 'static', value: '$var:f/x' } } },
          },
          {
            id: 'path',
            value: { type: 'script', path: 'f/x/y', input_transforms: { t: { type: 'javascript', expr: "variable('f/x')" } } },
          },
        ],
      },
    }).flow!;
    expect(runProblems(flow, { 'f/x/y': { activity: 'record', local: false, input: {} } }, {})).toEqual([
      "step 'path': input_transforms.t: $res:, $var:, variable() and resource() resolve only in rawscript steps (a script by path would get the reference as text)",
    ]);
  });
});
