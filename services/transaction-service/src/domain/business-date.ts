/** The store-local calendar date (YYYY-MM-DD) of an instant: sales belong to the store's day, not UTC's. */
export function businessDate(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}
