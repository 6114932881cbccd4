import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** `name{labels} value` lines of a Prometheus text exposition. */
export function promSamples(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** A loopback port free at the time of asking (for a server the test starts next). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** Scrapes a /metrics endpoint into samples. */
export async function scrape(url: string): Promise<PromSample[]> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return promSamples(await res.text());
}
