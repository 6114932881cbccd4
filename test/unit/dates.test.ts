import { describe, expect, it } from 'vitest';
import { BackfillInput } from '../../common/backfill.js';
import { parseInput } from '../../common/errors.js';
import { SyncInput } from '../../common/sync.js';
import { isoInterval, parseInstant } from '../../common/time.js';

/** The message a refused input fails with (non-retryable, field named), or null when it is accepted. */
function refusal(schema: Parameters<typeof parseInput>[0], raw: unknown): string | null {
  try {
    parseInput(schema, raw, 'input');
    return null;
  } catch (err) {
    expect((err as { nonRetryable?: boolean }).nonRetryable).toBe(true);
    return (err as Error).message;
  }
}

const backfill = (from: string, to: string, granularity = 'daily') => ({ dataset: 'shop.orders', from, to, granularity });
const windowed = (from: unknown, to: unknown) => ({ dataset: 'shop.orders', window: { from, to } });

describe('dates and ranges are checked as values', () => {
  it('reads the forms people write, in UTC unless they give a zone', () => {
    const ms = (text: string) => {
      const parsed = parseInstant(text);
      if ('error' in parsed) throw new Error(parsed.error);
      return new Date(parsed.ms).toISOString();
    };
    expect(ms('2024-03-01')).toBe('2024-03-01T00:00:00.000Z');
    expect(ms('2024-03-01T05')).toBe('2024-03-01T05:00:00.000Z');
    expect(ms('2024-03-01 05:30')).toBe('2024-03-01T05:30:00.000Z');
    expect(ms('2024-03-01T05:30:00.25Z')).toBe('2024-03-01T05:30:00.250Z');
    expect(ms('2024-03-01T05:30:00+02:00')).toBe('2024-03-01T03:30:00.000Z');
    expect(ms('2024-03-01T00:30-0130')).toBe('2024-03-01T02:00:00.000Z');
    expect(ms('2024-02-29')).toBe('2024-02-29T00:00:00.000Z'); // a leap year
  });

  it.each([
    ['2006-13-45', 'month 13 does not exist'],
    ['2023-02-29', 'day 29 does not exist in 2023-02'],
    ['2024-04-31', 'day 31 does not exist in 2024-04'],
    ['2024-03-01T24:00', 'does not exist'],
    ['2024-03-01T05:60', 'does not exist'],
    ['2024-03-01T05:00+15:00', 'offset +15:00 does not exist'],
    ['yesterday', 'must be a date or date-time'],
    ['2024-3-1', 'must be a date or date-time'],
  ])('refuses %s: %s', (text, reason) => {
    const parsed = parseInstant(text);
    expect('error' in parsed && parsed.error).toContain(reason);
  });

  it('refuses a backfill whose dates do not exist, naming the field', () => {
    expect(refusal(BackfillInput, backfill('2006-13-45', '2006-12-31'))).toMatch(/from: month 13 does not exist/);
    expect(refusal(BackfillInput, backfill('2006-01-01', '2006-02-30'))).toMatch(/to: day 30 does not exist/);
  });

  it('compares a backfill range as times, not as text', () => {
    // 'T05:00' sorts after ' 06:00' as text; as times it is an hour before.
    expect(parseInput(BackfillInput, backfill('2006-02-14T05:00', '2006-02-14 06:00', 'hourly'))).toMatchObject({
      from: '2006-02-14 05:00:00',
      to: '2006-02-14 06:00:00',
    });
    expect(refusal(BackfillInput, backfill('2006-02-14 06:00', '2006-02-14T05:00', 'hourly'))).toMatch(/to: must be after from/);
    expect(refusal(BackfillInput, backfill('2006-02-14', '2006-02-14'))).toMatch(/to: must be after from/);
  });

  it('normalises a sync window to UTC and refuses one that is not dates, is inverted or mixes kinds', () => {
    expect(parseInput(SyncInput, windowed('2024-03-01T02:00:00+02:00', '2024-03-02')).window).toEqual({
      from: '2024-03-01 00:00:00',
      to: '2024-03-02 00:00:00',
    });
    expect(refusal(SyncInput, windowed('last week', 'now'))).toMatch(/window\.from: must be a date or date-time/);
    expect(refusal(SyncInput, windowed('2024-03-02', '2024-03-01'))).toMatch(/window\.to: must be after from/);
    expect(refusal(SyncInput, windowed('2024-03-01', 100))).toMatch(/window\.to: must be of the same kind as from/);
  });

  it('takes integer windows for a numeric cursor, compared as numbers', () => {
    expect(parseInput(SyncInput, windowed(9, '10')).window).toEqual({ from: '9', to: '10' });
    expect(refusal(SyncInput, windowed('10', 9))).toMatch(/window\.to: must be after from/);
    expect(refusal(SyncInput, windowed(1.5, 3))).toMatch(/window\.from/);
  });

  it('writes a range as the shortest exact ISO 8601 interval', () => {
    const { from, to } = parseInput(BackfillInput, backfill('2024-03-01', '2024-03-11'), 'input');
    expect(isoInterval(from, to)).toBe('2024-03-01/2024-03-11');
    const hours = parseInput(BackfillInput, backfill('2024-03-01T05:00+01:00', '2024-03-01T09', 'hourly'), 'input');
    expect(isoInterval(hours.from, hours.to)).toBe('2024-03-01T04:00:00Z/2024-03-01T09:00:00Z');
  });
});
