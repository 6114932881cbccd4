import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Debian's Chromium, installed by infra/local/chromium.sh if missing (npm test runs it first).
 * Undefined only when it is missing and cannot be installed here (no apt, no root or sudo).
 */
export function findChromium(): string | undefined {
  const wanted = process.env.SPOKEFLOW_CHROMIUM ?? '/usr/bin/chromium';
  if (existsSync(wanted)) return wanted;
  try {
    const out = execFileSync('bash', [path.join(REPO_ROOT, 'infra/local/chromium.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const found = out.trim().split('\n').pop();
    return found && existsSync(found) ? found : undefined;
  } catch {
    return undefined;
  }
}

// Without these, headless Chromium tries Google services and QUIC, and its connections fail on a
// machine without general network access.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
