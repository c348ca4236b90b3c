import { businessDate, localHour } from '../src/domain/business-date';

describe('businessDate / localHour (pure)', () => {
  // 2026-03-31T22:30Z is still the 31st in New York, already April 1st in Tokyo and Kolkata.
  const at = new Date('2026-03-31T22:30:00.000Z');

  it('when one instant is read in several time zones, then each gets its own store-local date and hour', () => {
    expect(businessDate(at, 'America/New_York')).toBe('2026-03-31');
    expect(businessDate(at, 'Asia/Tokyo')).toBe('2026-04-01');
    expect(businessDate(at, 'Asia/Kolkata')).toBe('2026-04-01');
    expect(localHour(at, 'America/New_York')).toBe('18');
    expect(localHour(at, 'Asia/Tokyo')).toBe('07');
    expect(localHour(at, 'Asia/Kolkata')).toBe('04');
  });

  it('when a zone was read before, then the cached formatter still answers for that zone only', () => {
    expect(businessDate(at, 'UTC')).toBe('2026-03-31');
    expect(businessDate(at, 'Asia/Tokyo')).toBe('2026-04-01');
    expect(businessDate(new Date('2026-01-01T00:00:00.000Z'), 'UTC')).toBe('2026-01-01');
    expect(localHour(new Date('2026-01-01T00:00:00.000Z'), 'UTC')).toBe('00');
    expect(localHour(at, 'America/New_York')).toBe('18');
  });
});
