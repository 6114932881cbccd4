import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_METRIC_NAMES, SPOKEFLOW_METRICS } from '../../common/metric-names.js';

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: { expr: string }[];
  panels?: Panel[];
}
const dashboard = JSON.parse(readFileSync(new URL('../../infra/grafana/spokeflow.json', import.meta.url), 'utf8')) as {
  panels: Panel[];
  templating: { list: { name: string; query: unknown }[] };
};

const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const queries = [
  ...panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
  ...dashboard.templating.list.map((v) =>
    typeof v.query === 'object' && v.query ? (v.query as { query: string }).query : String(v.query),
  ),
];

/** Every metric a PromQL text names (ours and the SDK's prefixes), a histogram's series by its histogram. */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(?:spokeflow|temporal)_[a-z0-9_]+\b/g)].map(([name]) => {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    return base !== name && DASHBOARD_METRIC_NAMES.includes(base) ? base : name;
  });
}

describe('the Grafana dashboard', () => {
  it('names only metrics the workers expose', () => {
    const named = new Set(queries.flatMap(metricsIn));
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter((n) => !DASHBOARD_METRIC_NAMES.includes(n))).toEqual([]);
  });

  it('charts every metric spokeflow emits', () => {
    const named = new Set(queries.flatMap(metricsIn));
    expect(Object.values(SPOKEFLOW_METRICS).filter((m) => !named.has(m.name))).toEqual([]);
  });

  it('reads every query from the chosen Prometheus data source, panel ids unique', () => {
    const charts = panels.filter((p) => p.type !== 'row');
    expect(charts.every((p) => p.datasource?.uid === '${datasource}' && (p.targets ?? []).length > 0)).toBe(true);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
  });
});
