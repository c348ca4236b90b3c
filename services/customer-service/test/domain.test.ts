import { normalisePhone } from '../src/domain/phone';
import { pointsDueBack, pointsEarned, reversal } from '../src/domain/loyalty';

describe('phone normalisation to E.164', () => {
  const ok = (input: string, country = 'US') => {
    const r = normalisePhone(input, country);
    if (!r.ok) throw new Error(`${input}: ${r.reason}`);
    return r.e164;
  };
  const reason = (input: string, country = 'US') => {
    const r = normalisePhone(input, country);
    return r.ok ? `accepted as ${r.e164}` : r.reason;
  };

  it('when a number is typed in the notations people use, then it becomes the same E.164 number', () => {
    for (const input of ['(415) 555-0100', '415-555-0100', '415.555.0100', '4155550100', '1 415 555 0100', '+1 (415) 555-0100', '+14155550100', '001 415 555 0100', '011 1 415 555 0100']) {
      expect(ok(input)).toBe('+14155550100');
    }
  });

  it('when a foreign number carries its country code, then it is kept with it (and a written (0) trunk prefix is dropped)', () => {
    expect(ok('+44 20 7946 0958')).toBe('+442079460958');
    expect(ok('+44 (0)20 7946 0958')).toBe('+442079460958');
    expect(ok('0044 20 7946 0958')).toBe('+442079460958');
    expect(ok('+49 30 901820')).toBe('+4930901820');
    expect(ok('+81 3-1234-5678')).toBe('+81312345678');
  });

  it('when the default country is not the US, then national numbers are read in it, without the trunk 0', () => {
    expect(ok('020 7946 0958', 'GB')).toBe('+442079460958');
    expect(ok('07700 900123', 'GB')).toBe('+447700900123');
    expect(ok('06 12 34 56 78', 'FR')).toBe('+33612345678');
    expect(ok('06 1234 5678', 'IT')).toBe('+390612345678');
  });

  it('when the input cannot be a phone number, then it is refused with a reason', () => {
    for (const junk of ['', 'call me', '555-CALL-NOW', '12345', '+1 415 555 0100 ext 12', '415+555+0100', '(415 555-0100', '+0 123 456 789', '+1234567890123456', '(015) 555-0100', '415 055 0100', '411 555 0100', '020 794 60']) {
      expect(reason(junk, junk.startsWith('020') ? 'GB' : 'US')).not.toMatch(/^accepted/);
    }
    expect(reason('+44 20 7946')).toMatch(/wrong number of digits/);
  });
});

describe('loyalty arithmetic', () => {
  it('when points are earned, then they are whole currency units of net spend times the rule, rounded down', () => {
    expect(pointsEarned(2399, 'USD', 1)).toBe(23);
    expect(pointsEarned(2399, 'USD', 3)).toBe(71);
    expect(pointsEarned(99, 'USD', 1)).toBe(0);
    expect(pointsEarned(1500, 'JPY', 1)).toBe(1500);
    expect(pointsEarned(12345, 'KWD', 2)).toBe(24);
    expect(pointsEarned(5000, 'USD', 0)).toBe(0);
    expect(pointsEarned(-100, 'USD', 1)).toBe(0);
  });

  it('when a sale is refunded in parts, then reversals are proportional, never exceed the earned points, and the last takes the rest', () => {
    const earned = 23;
    const total = 2399;
    const refunds = [700, 700, 700, 299];
    let refunded = 0;
    let reversed = 0;
    const steps: number[] = [];
    for (const r of refunds) {
      refunded += r;
      const due = pointsDueBack(earned, refunded, total);
      steps.push(due - reversed);
      reversed = due;
      expect(reversed).toBeLessThanOrEqual(earned);
    }
    expect(steps).toEqual([6, 7, 7, 3]);
    expect(reversed).toBe(earned);
  });

  it('when a random sequence of refunds is applied, then the sum of reversals is at most the earned points and exactly them when fully refunded', () => {
    for (let run = 0; run < 2000; run++) {
      const total = 1 + Math.floor(Math.random() * 100_000);
      const earned = Math.floor(Math.random() * 2_000);
      let refunded = 0;
      let reversed = 0;
      while (refunded < total) {
        refunded = Math.min(total, refunded + 1 + Math.floor(Math.random() * total));
        const due = pointsDueBack(earned, refunded, total);
        expect(due).toBeGreaterThanOrEqual(reversed);
        reversed = due;
        expect(reversed).toBeLessThanOrEqual(earned);
      }
      expect(reversed).toBe(earned);
    }
  });

  it('when points were already spent, then a reversal takes only what is left and reports the shortfall', () => {
    expect(reversal(10, 25)).toEqual({ points: 10, shortfall: 0 });
    expect(reversal(10, 4)).toEqual({ points: 4, shortfall: 6 });
    expect(reversal(10, 0)).toEqual({ points: 0, shortfall: 10 });
  });
});
