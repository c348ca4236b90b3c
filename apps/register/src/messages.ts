import { ApiError } from './api';

export interface Shortage {
  productId: string;
  sku?: string;
  requested: number;
  available: number;
}

/** Plain-language text for an error from the API, for the cashier or manager in front of it. */
export function describeError(err: unknown, names: (productId: string) => string | undefined = () => undefined): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err);
  const p = err.problem;
  const detail = p?.detail ?? err.message;
  if (err.network) return 'No connection to the server.';
  switch (err.status) {
    case 402: {
      if (p?.code === 'insufficient_gift_card_balance') return `${detail.replace(/\.$/, '')}. Nothing was charged.`;
      const code = typeof p?.declineCode === 'string' ? p.declineCode : undefined;
      const why = code && !['card_declined', 'generic_decline', 'do_not_honor'].includes(code) ? ` (${code.replace(/_/g, ' ')})` : '';
      return `Card declined${why}. Nothing was charged — the card was taken off the payments; try another card or take cash.`;
    }
    case 401:
      return p?.code === 'session_expired' || p?.code === 'not_logged_in' ? 'Your session has expired. Please log in again.' : detail;
    case 403:
      return `Not allowed for your role: ${detail}`;
    case 409:
      if (p?.code === 'insufficient_stock') {
        const shortages = Array.isArray(p.shortages) ? (p.shortages as Shortage[]) : [];
        const list = shortages.map((s) => `${names(s.productId) ?? s.sku ?? s.productId}: ${s.requested} wanted, ${s.available} in stock`).join('; ');
        return `Not enough stock${list ? ` — ${list}` : ''}. Nothing was charged.`;
      }
      if (p?.code === 'no_open_shift') return 'Open a shift before selling.';
      return detail;
    case 429: {
      const wait = typeof p?.retryAfter === 'number' ? ` Try again in ${p.retryAfter} s.` : ' Wait a moment and try again.';
      return `Too many attempts.${wait} ${detail}`;
    }
    case 400:
      return p?.errors?.length ? `${detail}: ${p.errors.map((e) => `${e.path} ${e.message}`).join('; ')}` : detail;
    default:
      return err.status >= 500 ? `The server could not do it right now (${detail}). Nothing was charged; try again.` : detail;
  }
}
