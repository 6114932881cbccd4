import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../common/errors.js';

/** Windmill's variable and resource references as they reach an activity: `$var:<path>`, `$res:<path>`. */
const REFERENCE = /^\$(var|res):([A-Za-z0-9_][A-Za-z0-9_./-]{0,254})$/;

export interface FlowSecretsSource {
  /** The worker's environment: `SPOKEFLOW_VAR_<PATH>` (text) and `SPOKEFLOW_RES_<PATH>` (JSON). */
  env: Record<string, string | undefined>;
  /** A folder of files by path (`<dir>/f/shop/token`, resources as `<path>.json`), as a mounted secret gives them. */
  dir?: string;
}

/** `f/shop/api_token` → `F_SHOP_API_TOKEN`. */
export const envNameOf = (path: string) => path.toUpperCase().replace(/[^A-Z0-9]+/g, '_');

function missing(arg: string, kind: 'var' | 'res', path: string, source: FlowSecretsSource): ApplicationFailure {
  const env = `SPOKEFLOW_${kind === 'var' ? 'VAR' : 'RES'}_${envNameOf(path)}`;
  const file = source.dir ? ` or ${join(source.dir, kind === 'var' ? path : `${path}.json`)}` : '';
  return ApplicationFailure.nonRetryable(
    `input_transforms.${arg}: ${kind === 'var' ? 'variable' : 'resource'} ${path} is not set on this worker (${env}${file})`,
    ErrorType.invalidInput,
  );
}

async function lookUp(kind: 'var' | 'res', path: string, source: FlowSecretsSource): Promise<string | undefined> {
  const fromEnv = source.env[`SPOKEFLOW_${kind === 'var' ? 'VAR' : 'RES'}_${envNameOf(path)}`];
  if (fromEnv !== undefined) return fromEnv;
  if (!source.dir || path.split('/').includes('..')) return undefined;
  try {
    return (await readFile(join(source.dir, kind === 'var' ? path : `${path}.json`), 'utf8')).replace(/\r?\n$/, '');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Every string a resolved value holds, for redaction (short ones would blank out ordinary text). */
function secretTexts(value: unknown, into: Set<string>): void {
  if (typeof value === 'string') {
    if (value.length >= 4) into.add(value);
  } else if (Array.isArray(value)) value.forEach((v) => secretTexts(v, into));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => secretTexts(v, into));
}

/**
 * Resolves `$var:` and `$res:` references in a script's arguments on the activity side, so the
 * workflow history only ever holds the reference: a variable is text, a resource its JSON value.
 * Gives the arguments and a redactor that blanks every resolved secret out of a log or message.
 */
export async function resolveReferences(
  args: Record<string, unknown>,
  source: FlowSecretsSource,
  keep: (arg: string) => boolean = () => false,
): Promise<{ args: Record<string, unknown>; redact: (text: string) => string }> {
  const secrets = new Set<string>();
  const resolve = async (arg: string, value: unknown): Promise<unknown> => {
    if (typeof value === 'string') {
      const ref = REFERENCE.exec(value);
      if (!ref) return value;
      const [, kind, path] = ref as unknown as [string, 'var' | 'res', string];
      const text = await lookUp(kind, path, source);
      if (text === undefined) throw missing(arg, kind, path, source);
      let resolved: unknown = text;
      if (kind === 'res') {
        try {
          resolved = JSON.parse(text);
        } catch {
          throw ApplicationFailure.nonRetryable(`input_transforms.${arg}: resource ${path} is not JSON`, ErrorType.invalidInput);
        }
      }
      secretTexts(resolved, secrets);
      return resolved;
    }
    if (Array.isArray(value)) return Promise.all(value.map((v) => resolve(arg, v)));
    if (value && typeof value === 'object')
      return Object.fromEntries(await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await resolve(arg, v)])));
    return value;
  };
  const out: Record<string, unknown> = {};
  for (const [arg, value] of Object.entries(args)) out[arg] = keep(arg) ? value : await resolve(arg, value);
  const sorted = [...secrets].sort((a, b) => b.length - a.length);
  return { args: out, redact: (text) => sorted.reduce((t, s) => t.replaceAll(s, '***'), text) };
}
