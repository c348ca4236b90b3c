import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, newKey } from '../api';
import { describeError } from '../messages';
import { fmt } from '../money';
import { localDate } from '../terminal';
import type { Money } from '../money';
import type { Sale } from '../types';
import type { Ctx } from './context';

interface Refund {
  id: string;
  total: Money;
  tenders: Array<{ method: string; amount: Money; status: string }>;
}

/** Manager: find a sale (today's list, receipt number or sale id), choose lines, refund. */
export function Refunds({ ctx }: { ctx: Ctx }) {
  const { api, store } = ctx;
  const [sales, setSales] = useState<Sale[] | null>(null);
  const [filter, setFilter] = useState('');
  const [sale, setSale] = useState<Sale | null>(null);
  const [qty, setQty] = useState<Record<string, number>>({});
  const [restock, setRestock] = useState(true);
  const [reason, setReason] = useState('Customer return');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<Refund | null>(null);
  const [busy, setBusy] = useState(false);
  const attempt = useRef<{ key: string; body: string } | null>(null);

  const loadSales = async (): Promise<Sale[]> => {
    setError(null);
    try {
      // Sales of the last 7 days at this store, newest first.
      const from = new Date(Date.now() - 7 * 86_400_000).toISOString();
      const page = await api.get<{ data: Sale[] }>(`/api/v1/transactions?storeId=${store.id}&status=completed&limit=100&from=${encodeURIComponent(from)}`);
      setSales(page.data);
      return page.data;
    } catch (err) {
      setError(describeError(err));
      return [];
    }
  };
  useEffect(() => void loadSales(), []);

  const open = async (id: string) => {
    setError(null);
    setDone(null);
    attempt.current = null;
    try {
      const s = await api.get<Sale>(`/api/v1/transactions/${encodeURIComponent(id)}`);
      setSale(s);
      setQty({});
    } catch (err) {
      setError(err instanceof ApiError && (err.status === 404 || err.status === 400) ? 'No sale with that id at your stores.' : describeError(err));
    }
  };

  const find = async (e: Event) => {
    e.preventDefault();
    const f = filter.trim().replace(/^#/, '');
    if (!f) return;
    if (/^[0-9a-f-]{36}$/i.test(f)) return open(f);
    const byNumber = (list: Sale[] | null) => list?.find((s) => String(s.receiptNumber) === f);
    // Not in the list (or the list is still loading): ask the server for the latest sales first.
    const match = byNumber(sales) ?? byNumber(await loadSales());
    if (match) await open(match.id);
    else setError(`No sale with receipt #${f} in the last 7 days at ${store.name}.`);
  };

  const chosen = sale ? sale.lines.filter((l) => (qty[l.id] ?? 0) > 0).map((l) => ({ lineId: l.id, quantity: qty[l.id]! })) : [];

  const refund = async () => {
    if (!sale || !chosen.length) return;
    const body = { lines: chosen, restock, reason: reason.trim() || 'Refund' };
    const bodyJson = JSON.stringify(body);
    const key = attempt.current?.body === bodyJson ? attempt.current.key : newKey();
    attempt.current = { key, body: bodyJson };
    setBusy(true);
    setError(null);
    try {
      const r = await api.post<Refund>(`/api/v1/transactions/${sale.id}/refunds`, body, { idempotencyKey: key });
      attempt.current = null;
      setDone(r);
      ctx.notify('success', `Refunded ${fmt(r.total)} on receipt #${sale.receiptNumber}.`);
      setSale(await api.get<Sale>(`/api/v1/transactions/${sale.id}`));
      setQty({});
    } catch (err) {
      if (!(err instanceof ApiError && err.outcomeUnknown)) attempt.current = null;
      const text = describeError(err);
      setError(err instanceof ApiError && err.code === 'no_open_shift' ? 'Open your own shift first: cash refunds come out of your drawer.' : text);
    } finally {
      setBusy(false);
    }
  };

  const today = localDate(store.timezone);
  const visible = (sales ?? []).filter((s) => !filter.trim() || String(s.receiptNumber).startsWith(filter.trim().replace(/^#/, '')));
  return (
    <div class="two-col">
      <section class="card" aria-labelledby="find-sale-title">
        <h2 id="find-sale-title">Find a sale</h2>
        <form class="row" onSubmit={(e) => void find(e)} role="search">
          <label for="sale-filter" class="sr-only">
            Receipt number or sale id
          </label>
          <input id="sale-filter" placeholder="Receipt # or sale id" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
          <button type="submit">Open</button>
          <button type="button" class="btn-quiet" onClick={() => void loadSales()}>
            Reload
          </button>
        </form>
        <div class="scroll">
          <table class="list" aria-label="Recent sales">
            <thead>
              <tr>
                <th scope="col">Receipt</th>
                <th scope="col">When</th>
                <th scope="col" class="num">
                  Total
                </th>
                <th scope="col">
                  <span class="sr-only">Open</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {visible.map((s) => (
                <tr key={s.id} class={sale?.id === s.id ? 'selected' : ''}>
                  <td>#{s.receiptNumber}</td>
                  <td>{localDate(store.timezone, new Date(s.createdAt)) === today ? new Date(s.createdAt).toLocaleTimeString() : new Date(s.createdAt).toLocaleString()}</td>
                  <td class="num">
                    {fmt(s.total)}
                    {s.refundedTotal.amount > 0 && <span class="small muted"> (−{fmt(s.refundedTotal)})</span>}
                  </td>
                  <td>
                    <button type="button" aria-label={`Open receipt ${s.receiptNumber}`} onClick={() => void open(s.id)}>
                      Open
                    </button>
                  </td>
                </tr>
              ))}
              {sales && visible.length === 0 && (
                <tr>
                  <td colSpan={4} class="empty">
                    No sales found.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </section>
      <section class="card" aria-labelledby="refund-title">
        <h2 id="refund-title">{sale ? `Refund receipt #${sale.receiptNumber}` : 'Refund'}</h2>
        {!sale && <p class="muted">Open a sale to choose what to refund.</p>}
        {sale && (
          <>
            <p class="small muted">
              Paid {sale.tenders.map((t) => `${t.method} ${fmt(t.amount)}`).join(', ')}. Money goes back to the card first, the rest in cash from your drawer.
            </p>
            <table class="list">
              <thead>
                <tr>
                  <th scope="col">Item</th>
                  <th scope="col" class="num">
                    Sold
                  </th>
                  <th scope="col">Refund qty</th>
                  <th scope="col" class="num">
                    Line total
                  </th>
                </tr>
              </thead>
              <tbody>
                {sale.lines.map((l) => {
                  const left = l.quantity - l.refundedQuantity;
                  return (
                    <tr key={l.id}>
                      <th scope="row">
                        {l.name}
                        {l.refundedQuantity > 0 && <span class="small muted"> ({l.refundedQuantity} refunded)</span>}
                      </th>
                      <td class="num">{l.quantity}</td>
                      <td>
                        <input
                          type="number"
                          min={0}
                          max={left}
                          class="qty-input"
                          aria-label={`Quantity of ${l.name} to refund (at most ${left})`}
                          disabled={left === 0}
                          value={String(qty[l.id] ?? 0)}
                          onInput={(e) => {
                            const v = Math.max(0, Math.min(left, Number.parseInt(e.currentTarget.value, 10) || 0));
                            setQty({ ...qty, [l.id]: v });
                          }}
                        />
                      </td>
                      <td class="num">{fmt(l.total)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            <label class="check">
              <input type="checkbox" checked={restock} onChange={(e) => setRestock(e.currentTarget.checked)} /> Put the items back in stock
            </label>
            <label for="refund-reason">Reason</label>
            <input id="refund-reason" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
            {error && (
              <p class="error" role="alert">
                {error}
              </p>
            )}
            <button type="button" class="btn-primary btn-block" disabled={busy || !chosen.length || !ctx.online} onClick={() => void refund()}>
              {busy ? 'Refunding…' : 'Refund selected items'}
            </button>
          </>
        )}
        {!sale && error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {done && (
          <div class="notice notice-success" role="status" data-testid="refund-done">
            Refunded {fmt(done.total)}: {done.tenders.map((t) => `${t.method} ${fmt(t.amount)} (${t.status})`).join(', ')}
          </div>
        )}
      </section>
    </div>
  );
}
