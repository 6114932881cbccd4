import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parse, type ScalarTag } from 'yaml';
import { checkFlow, type FlowCheck } from '../common/openflow/validate.js';

const INLINE = /^!inline\s+(.+)$/;

/** `!inline foo.ts` written as a YAML tag (unquoted) reads the same as the quoted string form. */
const inlineTag: ScalarTag = { tag: '!inline', resolve: (path: string) => `!inline ${path}` };

/** Replaces every `'!inline <file>'` string by the file's text, relative to the flow's folder. */
async function resolveInline(node: unknown, folder: string, problems: string[]): Promise<unknown> {
  if (typeof node === 'string') {
    const m = INLINE.exec(node);
    if (!m) return node;
    try {
      return await readFile(resolve(folder, m[1]!.trim()), 'utf8');
    } catch {
      problems.push(`inline script '${m[1]!.trim()}' not found in ${folder}`);
      return node;
    }
  }
  if (Array.isArray(node)) return Promise.all(node.map((n) => resolveInline(n, folder, problems)));
  if (typeof node === 'object' && node !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = await resolveInline(v, folder, problems);
    return out;
  }
  return node;
}

/** Reads an OpenFlow file (YAML or JSON) or a `*.flow` folder as the Windmill CLI syncs it, and checks it. */
export async function readFlow(path: string): Promise<FlowCheck & { file: string }> {
  const file = (await stat(path)).isDirectory() ? join(path, 'flow.yaml') : path;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { file, problems: [`${basename(file)}: cannot be read`], scriptPaths: [] };
  }
  let raw: unknown;
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parse(text, { customTags: [inlineTag] });
  } catch (err) {
    return { file, problems: [`${basename(file)}: neither JSON nor YAML (${(err as Error).message.split('\n')[0]})`], scriptPaths: [] };
  }
  const problems: string[] = [];
  const resolved = await resolveInline(raw, dirname(file), problems);
  const check = checkFlow(resolved);
  return { file, ...check, problems: [...problems, ...check.problems] };
}

/** `spokeflow flows validate`: exit 0 when valid (listing unresolved script paths), 1 naming step and field. */
export async function validateFlowCommand(path: string, o: { strict?: boolean }): Promise<number> {
  const check = await readFlow(path);
  const problems = [...check.problems];
  if (o.strict) for (const p of check.scriptPaths) problems.push(`script path '${p}' is not resolved (--strict)`);
  if (problems.length) {
    for (const p of problems) console.error(`${check.file}: ${p}`);
    return 1;
  }
  console.log(`valid: ${check.file}${check.flow?.summary ? ` (${check.flow.summary})` : ''}`);
  for (const p of check.scriptPaths) console.log(`unresolved script path: ${p}`);
  return 0;
}
