import type { AnomalyMetric } from '../../common/anomaly-scan.js';
import { firedMembers, type Member } from './detector.js';

const DAY = 86_400_000;
const WEEK = 7 * DAY;
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const METRIC_WORDS: Record<AnomalyMetric, string> = {
  volume: 'volume',
  freshness: 'freshness lag',
  null_rate: 'null rate',
  duration: 'run duration',
};

export interface AlertFacts {
  metric: AnomalyMetric;
  atMs: number;
  value: number;
  expected: number;
  lower: number;
  upper: number;
  /** PointScore.fired: the members that carried the alert. */
  fired: number;
  /** PointScore.profile: the period of the profile the expected value came from (0: none). */
  profile: number;
}

export interface Explanation {
  members: Member[];
  /** One line for an owner: what was seen against what is usual, e.g. "3.4× the usual Tuesday 09:00 volume". */
  text: string;
}

/** When "usual" means: the same hour of the same weekday, the same hour of day, or lately (UTC). */
function usualWhen(atMs: number, profile: number): string {
  const at = new Date(atMs);
  const hour = `${String(at.getUTCHours()).padStart(2, '0')}:${String(at.getUTCMinutes()).padStart(2, '0')}`;
  if (profile === WEEK) return `${WEEKDAYS[at.getUTCDay()]} ${hour} UTC `;
  if (profile === DAY) return `${hour} UTC `;
  return '';
}

function number(x: number): string {
  const a = Math.abs(x);
  if (a !== 0 && (a < 0.01 || a >= 1e6)) return x.toPrecision(3);
  return String(Number(x.toPrecision(3)));
}

const HOW: Record<Member, string> = {
  point: '',
  shift: 'a sustained change: ',
  drift: 'a slow drift: ',
};

/**
 * The alert in plain words: a ratio when the expected value is a positive amount and the
 * ratio is telling ("3.4× the usual …", "5% of the usual …"), else the value against the
 * expected range; prefixed by how it showed when the shift or drift member set it.
 */
export function explainAlert(a: AlertFacts): Explanation {
  const members = firedMembers(a.fired);
  const lead = members.includes('point') ? 'point' : (members[0] ?? 'point');
  const usual = `the usual ${usualWhen(a.atMs, a.profile)}${METRIC_WORDS[a.metric]}`;
  let what: string;
  const ratio = a.expected > 0 && a.value >= 0 ? a.value / a.expected : NaN;
  if (ratio >= 1.5) what = `${number(ratio)}× ${usual}`;
  else if (ratio <= 0.67) what = `${number(ratio * 100)}% of ${usual}`;
  else {
    const side = a.value > a.upper ? 'above' : a.value < a.lower ? 'below' : 'at the edge of';
    what = `${number(a.value)}, ${side} ${usual} (${number(a.lower)} … ${number(a.upper)})`;
  }
  return { members, text: HOW[lead] + what };
}
