import type { CheckChangeItem, DigestContent, ScoreChange } from './digest-content.js';

/** Rows per section; the rest is counted ("and 12 more"), the links lead to them. */
const SECTION_ROWS = 25;

export interface RenderedDigest {
  subject: string;
  html: string;
  text: string;
  /** A Slack-compatible incoming-webhook body (`text` + Block Kit `blocks`). */
  webhook: { text: string; blocks: unknown[] };
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
const minute = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
// Three significant digits below 100, so a null rate of 0.0173 does not print as 0.02.
const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : Math.abs(n) >= 100 ? n.toFixed(0) : String(Number(n.toPrecision(3))));
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
const delta = (c: ScoreChange): number | null => (c.before === null ? null : Math.round((c.after - c.before) * 10) / 10);

/**
 * A score trend as an inline SVG polyline. The vertical scale spans at least 20 points of the
 * 0–100 score, so a 2-point wobble stays flat and a 15-point fall shows; the faint line is the
 * score before the period's last point, the dot is coloured by the direction of the change.
 */
export function sparkline(points: number[], colour: string, width = 120, height = 28): string {
  if (points.length === 0) return '';
  const pad = 3;
  const lo0 = Math.min(...points);
  const hi0 = Math.max(...points);
  const span = Math.max(20, hi0 - lo0);
  const lo = Math.max(0, Math.min(lo0 - (span - (hi0 - lo0)) / 2, 100 - span));
  const hi = lo + span;
  const x = (i: number) => (points.length === 1 ? width / 2 : pad + (i * (width - 2 * pad)) / (points.length - 1));
  const y = (v: number) => pad + ((hi - Math.max(lo, Math.min(hi, v))) * (height - 2 * pad)) / (hi - lo);
  const path = points.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const last = points.length - 1;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="score trend">` +
    (points.length > 1
      ? `<line x1="${pad}" y1="${y(points[points.length - 2]!).toFixed(1)}" x2="${width - pad}" y2="${y(points[points.length - 2]!).toFixed(1)}" stroke="#e5e7eb" stroke-width="1"/>`
      : '') +
    `<polyline fill="none" stroke="#6b7280" stroke-width="1.5" stroke-linejoin="round" points="${path}"/>` +
    `<circle cx="${x(last).toFixed(1)}" cy="${y(points[last]!).toFixed(1)}" r="2.5" fill="${colour}"/></svg>`
  );
}

function subjectOf(c: DigestContent): string {
  const parts = [
    c.anomalies.length ? plural(c.anomalies.length, 'new anomaly', 'new anomalies') : '',
    c.failedSyncs.length ? plural(c.failedSyncs.length, 'failed sync') : '',
    c.stale.length ? plural(c.stale.length, 'stale dataset') : '',
    c.newlyFailingChecks.length ? plural(c.newlyFailingChecks.length, 'newly failing check') : '',
    c.recoveredChecks.length ? plural(c.recoveredChecks.length, 'recovered check') : '',
    c.scoreChanges.length ? plural(c.scoreChanges.length, 'score change') : '',
  ].filter(Boolean);
  const kind = c.periodKind === 'daily' ? 'Daily' : 'Weekly';
  return `[spokeflow] ${kind} digest ${c.periodLabel.split(' ')[0]} for ${c.name}: ${parts.length ? parts.join(', ') : 'nothing to report'}`;
}

// Email clients drop <style> blocks and external CSS: every style is inline, layout is tables.
const S = {
  body: 'margin:0;padding:0;background:#f3f4f6;font-family:Helvetica,Arial,sans-serif;color:#111827;',
  card: 'max-width:680px;margin:0 auto;background:#ffffff;border:1px solid #e5e7eb;border-radius:6px;',
  h1: 'margin:0;font-size:20px;line-height:26px;font-weight:bold;color:#111827;',
  h2: 'margin:24px 0 8px 0;font-size:15px;line-height:20px;font-weight:bold;color:#111827;',
  muted: 'color:#6b7280;font-size:12px;line-height:18px;',
  th: 'text-align:left;font-size:11px;text-transform:uppercase;color:#6b7280;padding:6px 8px;border-bottom:1px solid #e5e7eb;',
  td: 'font-size:13px;line-height:18px;padding:6px 8px;border-bottom:1px solid #f3f4f6;vertical-align:middle;',
  tile: 'padding:10px 8px;text-align:center;border:1px solid #e5e7eb;border-radius:4px;',
  link: 'color:#2563eb;text-decoration:underline;white-space:nowrap;',
  code: 'font-family:Menlo,Consolas,monospace;font-size:11px;color:#374151;word-break:break-all;',
  badge: 'display:inline-block;font-size:10px;line-height:14px;padding:0 4px;border-radius:3px;text-transform:uppercase;',
};

function table(headers: string[], rows: string[][], more: number): string {
  const head = headers.map((h) => `<th style="${S.th}">${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((cell) => `<td style="${S.td}">${cell}</td>`).join('')}</tr>`).join('');
  const tail = more > 0 ? `<p style="${S.muted}">and ${more} more</p>` : '';
  return `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;"><tr>${head}</tr>${body}</table>${tail}`;
}

const a = (href: string, label: string): string => `<a href="${escapeHtml(href)}" style="${S.link}">${escapeHtml(label)}</a>`;

function tile(n: number, label: string, colour: string): string {
  return (
    `<td width="20%" style="padding:4px;"><div style="${S.tile}">` +
    `<div style="font-size:22px;font-weight:bold;color:${n ? colour : '#9ca3af'};">${n}</div>` +
    `<div style="${S.muted}">${escapeHtml(label)}</div></div></td>`
  );
}

const severityBadge = (severity: CheckChangeItem['severity']): string =>
  severity === 'error'
    ? `<span style="${S.badge}background:#fee2e2;color:#991b1b;">error</span>`
    : `<span style="${S.badge}background:#fef3c7;color:#92400e;">warn</span>`;

/** What a newly failing check's newest result says, in words. */
function checkOutcome(x: CheckChangeItem): string {
  if (x.status === 'errored') return `errored${x.details ? `: ${x.details}` : ''}`;
  const rows = x.failing === null ? 'failed' : plural(x.failing, 'failing row');
  return x.details ? `${rows} (${x.details})` : rows;
}

/** The two checks sections (newly failing, recovered) of the HTML and of the text. */
function checkSections(c: DigestContent): { html: string[]; text: string[] } {
  const html: string[] = [];
  const text: string[] = [];
  const failing = c.newlyFailingChecks;
  if (failing.length) {
    // The sample's address is long: a full-width line under its check rather than a narrow column.
    const head = ['dataset', 'check', 'result', ''].map((h) => `<th style="${S.th}">${h}</th>`).join('');
    const body = failing
      .slice(0, SECTION_ROWS)
      .map((x) => {
        const cells = [
          escapeHtml(x.dataset),
          `${escapeHtml(x.checkId)} ${severityBadge(x.severity)}`,
          `<span style="color:#991b1b;">${escapeHtml(checkOutcome(x).slice(0, 160))}</span><br><span style="${S.muted}">${escapeHtml(minute(x.atMs))}</span>`,
          a(x.link, 'checks run'),
        ];
        if (!x.sample) return `<tr>${cells.map((cell) => `<td style="${S.td}">${cell}</td>`).join('')}</tr>`;
        const top = `${S.td}border-bottom:0;padding-bottom:2px;`;
        return (
          `<tr>${cells.map((cell) => `<td style="${top}">${cell}</td>`).join('')}</tr>` +
          `<tr><td colspan="4" style="${S.td}padding-top:0;"><span style="${S.muted}">failing-row sample</span> ` +
          `<span style="${S.code}">${escapeHtml(x.sample)}</span></td></tr>`
        );
      })
      .join('');
    const more = failing.length - SECTION_ROWS;
    html.push(
      `<h2 style="${S.h2}">Checks newly failing</h2>`,
      `<p style="${S.muted}margin:0 0 4px 0;">Passing (or not run) before this period, failing at their last run in it. A sample holds up to 100 failing rows, primary key first.</p>`,
      `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="border-collapse:collapse;"><tr>${head}</tr>${body}</table>` +
        (more > 0 ? `<p style="${S.muted}">and ${more} more</p>` : ''),
    );
    text.push('CHECKS NEWLY FAILING');
    for (const x of failing.slice(0, SECTION_ROWS)) {
      text.push(
        `  - ${x.dataset} ${x.checkId} (${x.severity}): ${checkOutcome(x).slice(0, 160)}, at ${minute(x.atMs)}`,
        ...(x.sample ? [`    sample ${x.sample}`] : []),
        `    ${x.link}`,
      );
    }
    if (failing.length > SECTION_ROWS) text.push(`  and ${failing.length - SECTION_ROWS} more`);
    text.push('');
  }
  const recovered = c.recoveredChecks;
  if (recovered.length) {
    const rows = recovered
      .slice(0, SECTION_ROWS)
      .map((x) => [
        escapeHtml(x.dataset),
        `${escapeHtml(x.checkId)} ${severityBadge(x.severity)}`,
        `<span style="color:#166534;">passing</span><br><span style="${S.muted}">since ${escapeHtml(minute(x.atMs))}</span>`,
        a(x.link, 'checks run'),
      ]);
    html.push(
      `<h2 style="${S.h2}">Checks recovered</h2>`,
      table(['dataset', 'check', 'result', ''], rows, recovered.length - SECTION_ROWS),
    );
    text.push('CHECKS RECOVERED');
    for (const x of recovered.slice(0, SECTION_ROWS))
      text.push(`  - ${x.dataset} ${x.checkId} (${x.severity}): passing since ${minute(x.atMs)}`, `    ${x.link}`);
    if (recovered.length > SECTION_ROWS) text.push(`  and ${recovered.length - SECTION_ROWS} more`);
    text.push('');
  }
  return { html, text };
}

export function renderDigest(c: DigestContent, meta: { messageId: string; objectKey: string }): RenderedDigest {
  const subject = subjectOf(c);
  const who = c.audience === 'teams' ? `team ${c.name}` : c.name;
  const kind = c.periodKind === 'daily' ? 'Daily' : 'Weekly';
  const sections: string[] = [];
  const text: string[] = [`${kind} digest for ${who} — ${c.periodLabel}`, `${plural(c.datasets, 'dataset')} in scope`, ''];

  if (c.scoreChanges.length) {
    const rows = c.scoreChanges.slice(0, SECTION_ROWS).map((s) => {
      const d = delta(s);
      const colour = d === null ? '#2563eb' : d < 0 ? '#dc2626' : '#16a34a';
      const change = d === null ? 'new' : `${d > 0 ? '+' : ''}${d.toFixed(1)}`;
      return [
        escapeHtml(s.dataset),
        sparkline(
          s.series.map((p) => p.score),
          colour,
        ),
        `${s.before === null ? '–' : s.before.toFixed(1)} → <b>${s.after.toFixed(1)}</b>`,
        `<span style="color:${colour};font-weight:bold;">${change}</span>`,
      ];
    });
    sections.push(
      `<h2 style="${S.h2}">Health score changes</h2>`,
      table(['dataset', 'trend', 'score', 'change'], rows, c.scoreChanges.length - SECTION_ROWS),
    );
    sections.push(`<p style="${S.muted}">${a(c.healthLink, 'health scoring runs in the Web UI')}</p>`);
    text.push('HEALTH SCORE CHANGES', `  (health scoring runs: ${c.healthLink})`);
    for (const s of c.scoreChanges.slice(0, SECTION_ROWS)) {
      const d = delta(s);
      text.push(
        `  - ${s.dataset}: ${s.before === null ? 'new' : s.before.toFixed(1)} -> ${s.after.toFixed(1)}${d === null ? '' : ` (${d > 0 ? '+' : ''}${d.toFixed(1)})`}`,
      );
    }
    if (c.scoreChanges.length > SECTION_ROWS) text.push(`  and ${c.scoreChanges.length - SECTION_ROWS} more`);
    text.push('');
  }
  if (c.anomalies.length) {
    const rows = c.anomalies
      .slice(0, SECTION_ROWS)
      .map((x) => [
        escapeHtml(x.dataset),
        `${escapeHtml(x.metric)}${x.series ? ` <span style="${S.muted}">${escapeHtml(x.series)}</span>` : ''}`,
        escapeHtml(minute(x.atMs)),
        `${fmt(x.value)} <span style="${S.muted}">expected ${fmt(x.lower)}–${fmt(x.upper)}</span>`,
        x.explanation ? escapeHtml(x.explanation) : '',
        a(x.link, 'scan run'),
      ]);
    sections.push(
      `<h2 style="${S.h2}">New anomalies</h2>`,
      table(['dataset', 'metric', 'at', 'value', 'what was seen', ''], rows, c.anomalies.length - SECTION_ROWS),
    );
    text.push('NEW ANOMALIES');
    for (const x of c.anomalies.slice(0, SECTION_ROWS)) {
      text.push(
        `  - ${x.dataset} ${x.metric} at ${minute(x.atMs)}: ${fmt(x.value)} (expected ${fmt(x.lower)}-${fmt(x.upper)}, ${x.direction}, ${x.status})`,
        ...(x.explanation ? [`    ${x.explanation}`] : []),
        `    ${x.link}`,
      );
    }
    if (c.anomalies.length > SECTION_ROWS) text.push(`  and ${c.anomalies.length - SECTION_ROWS} more`);
    text.push('');
  }
  const checks = checkSections(c);
  sections.push(...checks.html);
  text.push(...checks.text);
  if (c.failedSyncs.length) {
    const rows = c.failedSyncs
      .slice(0, SECTION_ROWS)
      .map((f) => [
        escapeHtml(f.dataset),
        escapeHtml(minute(f.startedAtMs)),
        `<span style="color:#991b1b;">${escapeHtml(f.error.slice(0, 160) || 'failed')}</span>`,
        a(f.link, 'sync run'),
      ]);
    sections.push(
      `<h2 style="${S.h2}">Failed syncs</h2>`,
      table(['dataset', 'started', 'error', ''], rows, c.failedSyncs.length - SECTION_ROWS),
    );
    text.push('FAILED SYNCS');
    for (const f of c.failedSyncs.slice(0, SECTION_ROWS))
      text.push(`  - ${f.dataset} at ${minute(f.startedAtMs)}: ${f.error.slice(0, 160) || 'failed'}`, `    ${f.link}`);
    if (c.failedSyncs.length > SECTION_ROWS) text.push(`  and ${c.failedSyncs.length - SECTION_ROWS} more`);
    text.push('');
  }
  if (c.stale.length) {
    const rows = c.stale
      .slice(0, SECTION_ROWS)
      .map((s) => [
        escapeHtml(s.dataset),
        escapeHtml(s.lastSuccessMs === null ? 'never' : minute(s.lastSuccessMs)),
        `${fmt(s.slaHours)} h`,
        a(s.link, 'sync runs'),
      ]);
    sections.push(
      `<h2 style="${S.h2}">Stale datasets</h2>`,
      table(['dataset', 'last successful sync', 'SLA', ''], rows, c.stale.length - SECTION_ROWS),
    );
    text.push('STALE DATASETS');
    for (const s of c.stale.slice(0, SECTION_ROWS)) {
      text.push(
        `  - ${s.dataset}: last successful sync ${s.lastSuccessMs === null ? 'never' : minute(s.lastSuccessMs)}, SLA ${fmt(s.slaHours)} h`,
        `    ${s.link}`,
      );
    }
    if (c.stale.length > SECTION_ROWS) text.push(`  and ${c.stale.length - SECTION_ROWS} more`);
    text.push('');
  }
  if (sections.length === 0) {
    const nothing = 'Nothing to report: no score changes, anomalies, check changes, failed syncs or stale datasets.';
    sections.push(`<p style="font-size:14px;">${nothing}</p>`);
    text.push(nothing, '');
  }
  text.push('--', `spokeflow digest ${meta.messageId}`, `stored as ${meta.objectKey}`);

  const html =
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<title>${escapeHtml(subject)}</title></head><body style="${S.body}">` +
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="padding:16px 0;"><tr><td>` +
    `<div style="${S.card}"><div style="padding:20px 24px;">` +
    `<p style="${S.muted}margin:0 0 4px 0;">spokeflow · ${escapeHtml(kind.toLowerCase())} digest</p>` +
    `<h1 style="${S.h1}">${escapeHtml(who)} — ${escapeHtml(c.periodLabel)}</h1>` +
    `<p style="${S.muted}margin:4px 0 12px 0;">${plural(c.datasets, 'dataset')} in scope</p>` +
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr>` +
    tile(c.scoreChanges.length, 'score changes', '#2563eb') +
    tile(c.anomalies.length, 'new anomalies', '#d97706') +
    tile(c.newlyFailingChecks.length, 'failing checks', '#b91c1c') +
    tile(c.failedSyncs.length, 'failed syncs', '#dc2626') +
    tile(c.stale.length, 'stale datasets', '#7c3aed') +
    `</tr></table>` +
    sections.join('') +
    `<p style="${S.muted}margin-top:24px;">Message ${escapeHtml(meta.messageId)} · stored as ${escapeHtml(meta.objectKey)}</p>` +
    `</div></div></td></tr></table></body></html>`;

  const summary = [
    `${plural(c.scoreChanges.length, 'score change')}`,
    `${plural(c.anomalies.length, 'new anomaly', 'new anomalies')}`,
    `${plural(c.newlyFailingChecks.length, 'newly failing check')}`,
    `${plural(c.recoveredChecks.length, 'recovered check')}`,
    `${plural(c.failedSyncs.length, 'failed sync')}`,
    `${plural(c.stale.length, 'stale dataset')}`,
  ].join(' · ');
  const slackLines = (items: string[]) => items.slice(0, 10).join('\n');
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: `${kind} digest: ${who} — ${c.periodLabel}`.slice(0, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: summary } },
  ];
  const slackSection = (title: string, lines: string[]) => {
    if (lines.length)
      blocks.push({
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `*${title}*\n${slackLines(lines)}${lines.length > 10 ? `\n…and ${lines.length - 10} more` : ''}`.slice(0, 3000),
        },
      });
  };
  const slackEscape = (s: string) => s.replace(/[&<>]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[ch]!);
  slackSection(
    'Health score changes',
    c.scoreChanges.map((s) => `• ${slackEscape(s.dataset)}: ${s.before === null ? 'new' : s.before.toFixed(1)} → ${s.after.toFixed(1)}`),
  );
  slackSection(
    'New anomalies',
    c.anomalies.map((x) => `• <${x.link}|${slackEscape(x.dataset)} ${x.metric}> at ${minute(x.atMs)}: ${fmt(x.value)}`),
  );
  slackSection(
    'Checks newly failing',
    c.newlyFailingChecks.map(
      (x) =>
        `• <${x.link}|${slackEscape(x.dataset)} ${slackEscape(x.checkId)}> (${x.severity}): ${slackEscape(checkOutcome(x).slice(0, 120))}`,
    ),
  );
  slackSection(
    'Checks recovered',
    c.recoveredChecks.map((x) => `• <${x.link}|${slackEscape(x.dataset)} ${slackEscape(x.checkId)}> passing since ${minute(x.atMs)}`),
  );
  slackSection(
    'Failed syncs',
    c.failedSyncs.map((f) => `• <${f.link}|${slackEscape(f.dataset)}> at ${minute(f.startedAtMs)}`),
  );
  slackSection(
    'Stale datasets',
    c.stale.map(
      (s) => `• <${s.link}|${slackEscape(s.dataset)}>: last success ${s.lastSuccessMs === null ? 'never' : minute(s.lastSuccessMs)}`,
    ),
  );
  return { subject, html, text: text.join('\n') + '\n', webhook: { text: `${subject}\n${summary}`, blocks } };
}
