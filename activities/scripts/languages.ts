import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Module, Param, Pattern } from '@swc/core';
import { bashArgs, RAWSCRIPT_MEMORY_MIB, type ScriptLanguage } from '../../common/openflow/rawscript.js';
import type { ChildCommand, ChildOutcome } from './child-process.js';

/** A script's own error, as its wrapper reports it. */
export class ScriptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScriptError';
  }
}

/** How one language runs: the files it writes in the script's folder, its command, and how its result reads back. */
export interface ScriptProcess {
  prepare(dir: string, content: string, args: Record<string, unknown>): Promise<Omit<ChildCommand, 'cwd' | 'timeoutMs'>>;
  /** The result after a clean exit; throws ScriptError with the script's message after a failed one. */
  result(dir: string, outcome: ChildOutcome): Promise<unknown>;
}

function patternName(p: Pattern | Param['pat'], position: number): string {
  if (p.type === 'Identifier') return p.value;
  if (p.type === 'AssignmentPattern' && p.left.type === 'Identifier') return p.left.value;
  throw new ScriptError(`main's parameter ${position + 1} is not a plain name: arguments are passed by name`);
}

/**
 * @swc/core on first use: its native binding costs every worker tens of MiB at start, and only a
 * flow with TypeScript rawscripts needs it.
 */
let swc: Promise<typeof import('@swc/core')> | undefined;
const loadSwc = () => (swc ??= import('@swc/core'));

/**
 * The names of `main`'s parameters, in order: Windmill passes the step's arguments to them by
 * name (its parser reads the signature, its wrapper spreads the values in that order).
 */
export async function mainParameterNames(content: string): Promise<string[]> {
  const { parseSync } = await loadSwc();
  let ast: Module;
  try {
    ast = parseSync(content, { syntax: 'typescript', target: 'es2022' });
  } catch (err) {
    throw new ScriptError(`the script does not parse: ${err instanceof Error ? err.message : String(err)}`);
  }
  for (const item of ast.body) {
    if (item.type !== 'ExportDeclaration') continue;
    const d = item.declaration;
    if (d.type === 'FunctionDeclaration' && d.identifier.value === 'main') return d.params.map((p, i) => patternName(p.pat, i));
    if (d.type === 'VariableDeclaration')
      for (const v of d.declarations) {
        if (v.id.type !== 'Identifier' || v.id.value !== 'main' || !v.init) continue;
        const init = v.init;
        if (init.type === 'ArrowFunctionExpression') return init.params.map((p, i) => patternName(p, i));
        if (init.type === 'FunctionExpression') return init.params.map((p, i) => patternName(p.pat, i));
      }
  }
  throw new ScriptError('the script exports no main function (export async function main(...))');
}

/** Our wrapper (ESM): calls main with the arguments in its parameters' order, its value to result.json. */
const NODE_WRAPPER = `import { readFile, writeFile } from 'node:fs/promises';
const { names, args } = JSON.parse(await readFile('args.json', 'utf8'));
const json = (v) => JSON.stringify(v === undefined ? null : v, (_k, x) => (x === undefined ? null : typeof x === 'bigint' ? x.toString() : x));
try {
  const script = await import('./main.mjs');
  if (typeof script.main !== 'function') throw new Error('the script exports no main function');
  const value = await script.main(...names.map((n) => (Object.hasOwn(args, n) ? args[n] : undefined)));
  await writeFile('result.json', json(value));
  process.exit(0);
} catch (e) {
  console.error(e);
  const error = e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) };
  await writeFile('error.json', json(error));
  process.exit(1);
}
`;

/** Our wrapper (Python 3): main(**kwargs) with the arguments main declares (all of them if it takes **kwargs). */
const PYTHON_WRAPPER = `import importlib.util, inspect, json, sys, traceback
with open('args.json') as f:
    args = json.load(f)
try:
    spec = importlib.util.spec_from_file_location('script', 'main.py')
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    main = getattr(script, 'main', None)
    if not callable(main):
        raise NameError('the script defines no main function')
    params = inspect.signature(main).parameters
    every = any(p.kind == p.VAR_KEYWORD for p in params.values())
    value = main(**{k: v for k, v in args.items() if every or k in params})
    with open('result.json', 'w') as f:
        json.dump(value, f, default=str)
except BaseException as e:
    traceback.print_exc()
    with open('error.json', 'w') as f:
        json.dump({'name': type(e).__name__, 'message': str(e)}, f)
    sys.exit(1)
`;

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ScriptError(`the script's result is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The failure as its wrapper wrote it, or how the process ended. */
async function failureOf(dir: string, outcome: ChildOutcome): Promise<ScriptError> {
  const e = (await readJson(join(dir, 'error.json')).catch(() => undefined)) as { name?: string; message?: string } | undefined;
  if (e?.message !== undefined) return new ScriptError(`${e.name ?? 'Error'}: ${e.message}`);
  const last = outcome.log.trim().split('\n').pop()?.trim();
  const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.code}`;
  return new ScriptError(`the script ${how}${last ? `: ${last}` : ''}`);
}

const typescript: ScriptProcess = {
  async prepare(dir, content, args) {
    const names = await mainParameterNames(content);
    const { transformSync } = await loadSwc();
    let code: string;
    try {
      code = transformSync(content, {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'es6' },
        isModule: true,
      }).code;
    } catch (err) {
      throw new ScriptError(`the script does not compile: ${err instanceof Error ? err.message : String(err)}`);
    }
    await writeFile(join(dir, 'main.mjs'), code);
    await writeFile(join(dir, 'wrapper.mjs'), NODE_WRAPPER);
    await writeFile(join(dir, 'args.json'), JSON.stringify({ names, args }));
    return { command: process.execPath, args: [`--max-old-space-size=${RAWSCRIPT_MEMORY_MIB}`, 'wrapper.mjs'] };
  },
  async result(dir, outcome) {
    if (outcome.code !== 0) throw await failureOf(dir, outcome);
    return (await readJson(join(dir, 'result.json'))) ?? null;
  },
};

const python3: ScriptProcess = {
  async prepare(dir, content, args) {
    await writeFile(join(dir, 'main.py'), content);
    await writeFile(join(dir, 'wrapper.py'), PYTHON_WRAPPER);
    await writeFile(join(dir, 'args.json'), JSON.stringify(args));
    return { command: 'python3', args: ['-I', 'wrapper.py'], addressSpaceBytes: RAWSCRIPT_MEMORY_MIB * 1024 * 1024 };
  },
  result: typescript.result,
};

/** Windmill's bash result: ./result.json if written, else ./result.out as text, else the last line of stdout. */
const bash: ScriptProcess = {
  async prepare(dir, content, args) {
    await writeFile(join(dir, 'main.sh'), content);
    return { command: 'bash', args: ['main.sh', ...bashArgs(content, args)], addressSpaceBytes: RAWSCRIPT_MEMORY_MIB * 1024 * 1024 };
  },
  async result(dir, outcome) {
    if (outcome.code !== 0) throw await failureOf(dir, outcome);
    const json = await readJson(join(dir, 'result.json'));
    if (json !== undefined) return json;
    const text = await readFile(join(dir, 'result.out'), 'utf8').catch(() => undefined);
    if (text !== undefined) return text;
    const lines = outcome.stdout.split('\n').filter((l) => l.trim() !== '');
    return lines.at(-1) ?? null;
  },
};

export const SCRIPT_PROCESSES: Partial<Record<ScriptLanguage, ScriptProcess>> = {
  deno: typescript,
  bun: typescript,
  nativets: typescript,
  python3,
  bash,
};
