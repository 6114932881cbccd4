#!/usr/bin/env node
// The spokeflow command. Installed from the package it runs the compiled CLI with plain node; in a
// clone (the TypeScript sources beside it) it runs the sources through tsx, so no build is needed.
import { existsSync } from 'node:fs';

const source = new URL('../cli/spokeflow.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/cli/spokeflow.js', import.meta.url).href);
}
