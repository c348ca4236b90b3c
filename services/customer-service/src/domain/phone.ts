/**
 * A small phone-number normaliser to E.164 (`+<country code><national number>`, at most 15 digits).
 *
 * It is deliberately not a full numbering-plan database (libphonenumber): it accepts what people
 * type at a till — `+44 20 7946 0958`, `+44 (0)20 7946 0958`, `0044 20 7946 0958`, `(415) 555-0100`,
 * `415.555.0100`, `1-415-555-0100` — and refuses what cannot be a phone number (letters, too few or
 * too many digits, a `+` in the middle, a NANP number with an impossible area code or exchange).
 * National numbers (no `+`/`00`) are read in the default country (config DEFAULT_PHONE_COUNTRY),
 * dropping its trunk prefix (`0` in most countries). Numbers of countries listed below are also
 * checked for their national length; other country codes get the generic E.164 length check.
 */

interface CountryPlan {
  /** Country calling code. */
  cc: string;
  /** Trunk prefix dialled before national numbers inside the country ('' when none). */
  trunk: string;
  /** Allowed lengths of the national significant number. */
  nsn: [min: number, max: number];
  /** North American Numbering Plan: NPA-NXX-XXXX with N = 2..9. */
  nanp?: boolean;
}

const NANP: CountryPlan = { cc: '1', trunk: '1', nsn: [10, 10], nanp: true };

/** Countries by ISO 3166-1 alpha-2 code (the default country must be one of these). */
export const COUNTRIES: Record<string, CountryPlan> = {
  US: NANP,
  CA: NANP,
  PR: NANP,
  GB: { cc: '44', trunk: '0', nsn: [9, 10] },
  IE: { cc: '353', trunk: '0', nsn: [7, 9] },
  DE: { cc: '49', trunk: '0', nsn: [6, 13] },
  AT: { cc: '43', trunk: '0', nsn: [4, 13] },
  CH: { cc: '41', trunk: '0', nsn: [9, 9] },
  FR: { cc: '33', trunk: '0', nsn: [9, 9] },
  BE: { cc: '32', trunk: '0', nsn: [8, 9] },
  NL: { cc: '31', trunk: '0', nsn: [9, 9] },
  LU: { cc: '352', trunk: '', nsn: [4, 11] },
  ES: { cc: '34', trunk: '', nsn: [9, 9] },
  PT: { cc: '351', trunk: '', nsn: [9, 9] },
  // Italian numbers keep their leading 0 after the country code.
  IT: { cc: '39', trunk: '', nsn: [6, 11] },
  DK: { cc: '45', trunk: '', nsn: [8, 8] },
  NO: { cc: '47', trunk: '', nsn: [8, 8] },
  SE: { cc: '46', trunk: '0', nsn: [7, 9] },
  FI: { cc: '358', trunk: '0', nsn: [5, 12] },
  PL: { cc: '48', trunk: '', nsn: [9, 9] },
  CZ: { cc: '420', trunk: '', nsn: [9, 9] },
  GR: { cc: '30', trunk: '', nsn: [10, 10] },
  AU: { cc: '61', trunk: '0', nsn: [9, 9] },
  NZ: { cc: '64', trunk: '0', nsn: [8, 10] },
  JP: { cc: '81', trunk: '0', nsn: [9, 10] },
  KR: { cc: '82', trunk: '0', nsn: [8, 10] },
  CN: { cc: '86', trunk: '0', nsn: [10, 11] },
  HK: { cc: '852', trunk: '', nsn: [8, 8] },
  SG: { cc: '65', trunk: '', nsn: [8, 8] },
  IN: { cc: '91', trunk: '0', nsn: [10, 10] },
  ZA: { cc: '27', trunk: '0', nsn: [9, 9] },
  BR: { cc: '55', trunk: '0', nsn: [10, 11] },
  MX: { cc: '52', trunk: '', nsn: [10, 10] },
  AR: { cc: '54', trunk: '0', nsn: [10, 11] },
  IL: { cc: '972', trunk: '0', nsn: [8, 9] },
  AE: { cc: '971', trunk: '0', nsn: [8, 9] },
};

export const PHONE_COUNTRIES = Object.keys(COUNTRIES) as [string, ...string[]];

/** Country plans by calling code; several countries may share one (NANP) — the first is used. */
const BY_CC = new Map<string, CountryPlan>();
for (const plan of Object.values(COUNTRIES)) if (!BY_CC.has(plan.cc)) BY_CC.set(plan.cc, plan);

export type PhoneResult = { ok: true; e164: string } | { ok: false; reason: string };

const ALLOWED = /^[0-9+()\-.\s/]+$/;

function validNanp(nsn: string): boolean {
  return /^[2-9][0-9]{2}[2-9][0-9]{6}$/.test(nsn) && !/^[2-9]11/.test(nsn);
}

/** Checks a number given with its country code against what we know of that country. */
function checkInternational(digits: string): PhoneResult {
  if (digits.length < 8 || digits.length > 15) return { ok: false, reason: 'must have 8 to 15 digits including the country code' };
  if (digits.startsWith('0')) return { ok: false, reason: 'country code cannot start with 0' };
  for (const len of [1, 2, 3]) {
    const plan = BY_CC.get(digits.slice(0, len));
    if (!plan) continue;
    const nsn = digits.slice(len);
    if (plan.nanp) {
      if (!validNanp(nsn)) return { ok: false, reason: 'is not a valid North American number' };
    } else if (nsn.length < plan.nsn[0] || nsn.length > plan.nsn[1]) {
      return { ok: false, reason: `has the wrong number of digits for country code +${plan.cc}` };
    }
    return { ok: true, e164: `+${digits}` };
  }
  return { ok: true, e164: `+${digits}` };
}

/**
 * Normalises `input` to E.164, reading national numbers in `defaultCountry`. Extensions
 * (`ext. 12`, `x12`) are refused rather than silently dropped.
 */
export function normalisePhone(input: string, defaultCountry: string): PhoneResult {
  let text = input.trim();
  if (text.length === 0) return { ok: false, reason: 'is empty' };
  if (text.length > 40 || !ALLOWED.test(text)) return { ok: false, reason: 'may only contain digits, spaces, +, -, ., / and parentheses' };
  const plusCount = (text.match(/\+/g) ?? []).length;
  if (plusCount > 1 || (plusCount === 1 && !text.startsWith('+'))) return { ok: false, reason: 'may only have a + at the start' };
  if ((text.match(/\(/g) ?? []).length !== (text.match(/\)/g) ?? []).length) return { ok: false, reason: 'has unbalanced parentheses' };

  const plan = COUNTRIES[defaultCountry.toUpperCase()];
  if (!plan) throw new RangeError(`unknown default phone country ${defaultCountry}`);

  let international = false;
  if (text.startsWith('+')) {
    international = true;
    text = text.slice(1);
    // "+44 (0)20 …": the (0) is the trunk prefix written for national callers; drop it.
    text = text.replace(/^\s*([1-9][0-9]{0,2})[\s\-.]*\(0\)/, '$1');
  }
  let digits = text.replace(/[^0-9]/g, '');
  if (!international) {
    if (digits.startsWith('00')) {
      international = true;
      digits = digits.slice(2);
    } else if (plan.nanp && digits.startsWith('011')) {
      international = true;
      digits = digits.slice(3);
    }
  }
  if (international) return checkInternational(digits);

  let nsn = digits;
  if (plan.nanp) {
    if (nsn.length === 11 && nsn.startsWith('1')) nsn = nsn.slice(1);
    if (!validNanp(nsn)) return { ok: false, reason: 'is not a valid North American number (10 digits, area code and exchange not starting with 0 or 1)' };
  } else {
    if (plan.trunk && nsn.startsWith(plan.trunk)) nsn = nsn.slice(plan.trunk.length);
    if (nsn.length < plan.nsn[0] || nsn.length > plan.nsn[1]) return { ok: false, reason: `has the wrong number of digits for a ${defaultCountry.toUpperCase()} number` };
  }
  const e164 = `${plan.cc}${nsn}`;
  if (e164.length > 15) return { ok: false, reason: 'has more than 15 digits' };
  return { ok: true, e164: `+${e164}` };
}
