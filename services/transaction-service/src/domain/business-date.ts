// Building an Intl.DateTimeFormat costs far more than formatting with one, and a checkout needs one
// per sale: keep one per time zone (a tenant has a handful).
const dateFormats = new Map<string, Intl.DateTimeFormat>();
const hourFormats = new Map<string, Intl.DateTimeFormat>();

function cached(cache: Map<string, Intl.DateTimeFormat>, timeZone: string, make: () => Intl.DateTimeFormat): Intl.DateTimeFormat {
  let format = cache.get(timeZone);
  if (!format) {
    format = make();
    cache.set(timeZone, format);
  }
  return format;
}

/** The store-local calendar date (YYYY-MM-DD) of an instant: sales belong to the store's day, not UTC's. */
export function businessDate(at: Date, timeZone: string): string {
  return cached(dateFormats, timeZone, () => new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })).format(at);
}

/** The hour (00-23) of an instant on the store's clock. */
export function localHour(at: Date, timeZone: string): string {
  const hour = cached(hourFormats, timeZone, () => new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', hourCycle: 'h23' })).format(at);
  return hour.padStart(2, '0').slice(-2);
}
