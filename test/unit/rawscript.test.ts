import { describe, expect, it } from 'vitest';
import { executeScript, ScriptFailed } from '../../activities/scripts/rawscript.js';
import { mainParameterNames, ScriptError } from '../../activities/scripts/languages.js';
import {
  bashArgNames,
  bashArgs,
  connectionNameOf,
  RawScriptRun,
  scriptLogKey,
  sqlArgs,
  sqlBindings,
  type RawScriptRun as RunInput,
} from '../../common/openflow/rawscript.js';
import { runProblems } from '../../common/openflow/run.js';
import { checkFlow } from '../../common/openflow/validate.js';

const noConnections = { connectionUrl: () => undefined };
const run = (r: Omit<RunInput, 'step' | 'attempt' | 'timeoutSeconds'> & { timeoutSeconds?: number }) =>
  executeScript(noConnections, RawScriptRun.parse({ step: 's', attempt: 1, timeoutSeconds: 60, ...r }));

describe("rawscript arguments, as Windmill's workers pass them", () => {
  it("reads main's parameter names in order from a TypeScript signature (defaults, optional, arrow functions)", async () => {
    expect(await mainParameterNames('export async function main(name: string, times = 2, loud?: boolean) { return 1 }')).toEqual([
      'name',
      'times',
      'loud',
    ]);
    expect(await mainParameterNames('export const main = async (a: number, b: { x: 1 }) => a')).toEqual(['a', 'b']);
    await expect(mainParameterNames('export function other() {}')).rejects.toThrow(ScriptError);
    await expect(mainParameterNames('export function main({ a }: { a: number }) {}')).rejects.toThrow(/parameter 1 is not a plain name/);
  });

  it('maps bash `name="$N"` lines to positions, JSON-encoding anything but text', () => {
    const script = 'who="$1"\ncount="${2:-3}"\nopts="$4"\necho "$who"';
    expect(bashArgNames(script)).toEqual(['who', 'count', undefined, 'opts']);
    expect(bashArgs(script, { who: 'Ada', count: 5, opts: { a: [1] } })).toEqual(['Ada', '5', '', '{"a":[1]}']);
    expect(bashArgs(script, { who: null })).toEqual(['', '', '', '']);
  });

  it('binds PostgreSQL `-- $N name = default` and MySQL `-- ? name (type)` declarations in order', () => {
    const pg = "-- $2 since = '2024-01-01'\n-- $1 shop\nSELECT * FROM t WHERE shop = $1 AND day >= $2::date";
    expect(sqlArgs('postgresql', pg)).toEqual([{ name: 'shop' }, { name: 'since', default: '2024-01-01' }]);
    expect(sqlBindings('postgresql', pg, { shop: 'north' })).toEqual(['north', '2024-01-01']);
    const my = '-- ? low (int) = 1\n-- ? tags (json)\nSELECT ? AS low, ? AS tags';
    expect(sqlBindings('mysql', my, { tags: ['a'] })).toEqual([1, '["a"]']);
    expect(sqlBindings('mysql', my, { low: 7, tags: null })).toEqual([7, null]);
  });

  it("names a connection by the resource path's last segment, and nothing that is not $res:", () => {
    expect(connectionNameOf('$res:u/admin/local_postgres')).toBe('local-postgres');
    expect(connectionNameOf('$res:shop-db')).toBe('shop-db');
    expect(connectionNameOf('postgres://x')).toBeUndefined();
    expect(connectionNameOf({ host: 'x' })).toBeUndefined();
  });

  it('keys a log by run, step, loop position and attempt', () => {
    expect(scriptLogKey('pipeline:demo', 'r1', 'greet', '/loop.3', 2)).toBe('rawscript-logs/pipeline:demo/r1/greet/loop.3/attempt-2.log');
    expect(scriptLogKey('pipeline:demo', 'r1', 'greet', '', 1)).toBe('rawscript-logs/pipeline:demo/r1/greet/attempt-1.log');
  });
});

describe('rawscript processes: main called with the inputs, its JSON value the result', () => {
  it('runs TypeScript (types stripped) with named arguments in signature order, defaults applied, logs kept', async () => {
    const out = await run({
      language: 'bun',
      content:
        'export async function main(name: string, times: number = 2, extra?: string) {\n  console.log("hi", name);\n  return { greeting: `${name}!`.repeat(times), extra: extra ?? null, env: Object.keys(process.env).sort() };\n}',
      args: { times: 3, name: 'Ada', unused: true },
    });
    expect(out.result).toEqual({ greeting: 'Ada!Ada!Ada!', extra: null, env: ['HOME', 'LANG', 'PATH', 'TMPDIR', 'WM_FLOW_STEP_ID'] });
    expect(out.log).toContain('hi Ada');
  });

  it("fails with a thrown error's name and message", async () => {
    const failed = run({ language: 'nativets', content: 'export function main() { throw new TypeError("no shelf") }', args: {} });
    await expect(failed).rejects.toThrow(ScriptFailed);
    await expect(failed).rejects.toThrow('TypeError: no shelf');
  });

  it('calls a Python main with the keyword arguments it declares, and fails with the exception', async () => {
    const out = await run({
      language: 'python3',
      content: 'def main(a, b=10):\n    print("adding")\n    return {"sum": a + b}\n',
      args: { a: 1, z: 0 },
    });
    expect(out.result).toEqual({ sum: 11 });
    expect(out.log).toContain('adding');
    await expect(run({ language: 'python3', content: 'def main():\n    raise ValueError("bad row")\n', args: {} })).rejects.toThrow(
      'ValueError: bad row',
    );
  });

  it('gives bash the last line of stdout, or result.json, and fails on a non-zero exit with its last words', async () => {
    expect((await run({ language: 'bash', content: 'msg="$1"\necho start\necho "hello $msg"\n', args: { msg: 'Ada' } })).result).toBe(
      'hello Ada',
    );
    const json = await run({ language: 'bash', content: 'n="$1"\necho "{\\"n\\": $n}" > result.json\necho ignored\n', args: { n: 4 } });
    expect(json.result).toEqual({ n: 4 });
    await expect(run({ language: 'bash', content: 'echo "disk full" >&2\nexit 3\n', args: {} })).rejects.toThrow(
      'the script exited with code 3: disk full',
    );
  });

  it('kills a script past its time limit', async () => {
    const slow = run({ language: 'bash', content: 'sleep 30 & sleep 30\n', args: {}, timeoutSeconds: 1 });
    await expect(slow).rejects.toThrow('timed out after 1 s and was killed');
  });

  it('refuses a SQL connection the worker does not declare, naming the field', async () => {
    await expect(run({ language: 'postgresql', content: 'SELECT 1', args: { database: '$res:u/x/elsewhere' } })).rejects.toThrow(
      'input_transforms.database: connection "elsewhere" is not declared on this worker',
    );
  });
});

describe('rawscript steps before the run starts', () => {
  const flow = (value: Record<string, unknown>) =>
    checkFlow({ summary: '', value: { modules: [{ id: 'q', value: { type: 'rawscript', input_transforms: {}, ...value } }] } }).flow!;

  it("lets a rawscript's $res: inputs through: a SQL script's database names a connection, any other resolves on the activity side", () => {
    const database = { type: 'static', value: '$res:f/shop/local_postgres' };
    expect(runProblems(flow({ language: 'postgresql', content: 'SELECT 1', input_transforms: { database } }), {})).toEqual([]);
    expect(runProblems(flow({ language: 'bash', content: 'echo', input_transforms: { database } }), {})).toEqual([]);
  });

  it('refuses what a rawscript asks that is not enforced, naming the field', () => {
    expect(runProblems(flow({ language: 'python3', content: 'def main(): pass', concurrent_limit: 2 }), {})).toEqual([
      "step 'q': value.concurrent_limit: a script's concurrency limit is not enforced yet",
    ]);
  });
});
