// A job thread's entry is plain JavaScript so that it loads wherever the worker runs (tsx, vitest,
// plain node): it registers the TypeScript loader, then loads the module that serves the jobs.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.module);
