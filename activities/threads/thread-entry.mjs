// A job thread's entry is plain JavaScript so that it loads wherever the worker runs (tsx, vitest,
// plain node): from source it registers the TypeScript loader first; compiled code needs none, and
// the installed package does not depend on tsx.
import { workerData } from 'node:worker_threads';

if (workerData.module.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.module);
