import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** A file of the team's shared material: `../shared/` beside the repo, or SPOKEFLOW_SHARED_DIR. */
export function sharedDataPath(relative: string): string {
  const dir = process.env.SPOKEFLOW_SHARED_DIR ?? fileURLToPath(new URL('../../../shared/', import.meta.url));
  const path = join(dir, relative);
  if (!existsSync(path)) throw new Error(`${path} is missing: put shared/ beside the repo or set SPOKEFLOW_SHARED_DIR`);
  return path;
}
