import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { DatasetDeclaration } from '../common/dataset.js';
import { describeIssues } from '../common/errors.js';

/** Reads a YAML or JSON file of dataset declarations (a list, or one), validated as a whole. */
export async function readDatasetFile(path: string): Promise<DatasetDeclaration[]> {
  const raw: unknown = parse(await readFile(path, 'utf8'));
  const parsed = z.array(DatasetDeclaration).safeParse(Array.isArray(raw) ? raw : [raw]);
  if (!parsed.success) throw new Error(`${path}: ${describeIssues(parsed.error)}`);
  const names = parsed.data.map((d) => d.name);
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length) throw new Error(`${path}: dataset ${twice[0]} is declared twice`);
  return parsed.data;
}
