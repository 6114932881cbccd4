// The thread's entry is plain JavaScript so that it loads wherever the worker runs (tsx, vitest,
// plain node): it registers the TypeScript loader, then loads the real module.
import { register } from 'tsx/esm/api';

register();
await import('./scoring-thread.ts');
