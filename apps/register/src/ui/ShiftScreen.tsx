import { useEffect, useState } from 'preact/hooks';
import { describeError } from '../messages';
import { fmt, parseMoney, toDecimalString } from '../money';
import type { ZReport } from '../types';
import type { Ctx } from './context';

/** The drawer: the shift's running totals, closing with the counted cash, and the Z-report. */
export function ShiftScreen({ ctx }: { ctx: Ctx }) {
  const { shift, store, api } = ctx;
  const [report, setReport] = useState<ZReport | null>(null);
  const [closed, setClosed] = useState<ZReport | null>(null);
  const [counted, setCounted] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!shift || !ctx.online) return;
    api
      .get<ZReport>(`/api/v1/shifts/${shift.id}/report`)
      .then((r) => {
        setReport(r);
        setCounted((c) => c || toDecimalString(r.cash.expected.amount, r.cash.expected.currency));
      })
      .catch((err: unknown) => setError(describeError(err)));
  }, [api, shift, ctx.online]);

  const close = async (e: Event) => {
    e.preventDefault();
    if (!shift) return;
    const amount = parseMoney(counted, store.currency);
    if (amount === null) return setError('Enter the counted cash, e.g. 154.25');
    setBusy(true);
    setError(null);
    try {
      await ctx.syncNow();
      const z = await api.post<ZReport>(`/api/v1/shifts/${shift.id}/close`, { countedCash: { amount, currency: store.currency } });
      setClosed(z);
      ctx.setShift(undefined);
      ctx.notify('success', 'Shift closed. The Z-report is below.');
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  if (closed) {
    return (
      <div class="stack zwrap">
        <ZReportView report={closed} title="Z-report (shift closed)" />
        <div class="actions no-print">
          <button type="button" class="btn-primary" onClick={() => ctx.go('sell')}>
            Open a new shift
          </button>
          <button type="button" onClick={() => window.print()}>
            Print Z-report
          </button>
        </div>
      </div>
    );
  }
  if (!shift) {
    return (
      <div class="card narrow">
        <h2>No open shift</h2>
        <p>Open a shift on the Sell screen to start selling.</p>
        <button type="button" class="btn-primary" onClick={() => ctx.go('sell')}>
          Go to Sell
        </button>
      </div>
    );
  }
  return (
    <div class="two-col">
      <form class="card" onSubmit={close} aria-labelledby="close-title">
        <h2 id="close-title">Close shift</h2>
        <p class="muted">
          Opened {new Date(shift.openedAt).toLocaleString()} with a float of {fmt(shift.openingFloat)}.
        </p>
        {report && (
          <p>
            Expected in the drawer: <strong data-testid="expected-cash">{fmt(report.cash.expected)}</strong>
          </p>
        )}
        <label for="counted-cash">Counted cash ({store.currency})</label>
        <input id="counted-cash" inputMode="decimal" autocomplete="off" value={counted} onInput={(e) => setCounted(e.currentTarget.value)} />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="btn-primary btn-block" disabled={busy || !ctx.online}>
          Close shift and print Z-report
        </button>
        {!ctx.online && <p class="small muted">Closing needs the connection (queued sales are sent first).</p>}
      </form>
      {report && <ZReportView report={report} title="So far this shift" />}
    </div>
  );
}

export function ZReportView({ report, title }: { report: ZReport; title: string }) {
  const rows: Array<[string, string]> = [
    ['Sales', String(report.salesCount)],
    ['Gross', fmt(report.gross)],
    ['Discounts', fmt(report.discounts)],
    ['Tax', fmt(report.tax)],
    ['Net', fmt(report.net)],
    ...Object.entries(report.tenders).map(([k, v]): [string, string] => [`Tender: ${k}`, fmt(v)]),
    ['Refunds', `${report.refunds.count} · ${fmt(report.refunds.total)} (cash ${fmt(report.refunds.cash)})`],
    ['Voids', `${report.voids.count} · ${fmt(report.voids.total)}`],
    ['Opening float', fmt(report.cash.openingFloat)],
    ['Cash sales', fmt(report.cash.cashSales)],
    ['Expected cash', fmt(report.cash.expected)],
    ['Counted cash', report.cash.counted ? fmt(report.cash.counted) : '—'],
    ['Variance', report.cash.variance ? fmt(report.cash.variance) : '—'],
  ];
  return (
    <section class="card zreport" aria-labelledby="z-title" data-testid="z-report">
      <h2 id="z-title">{title}</h2>
      <table>
        <tbody>
          {rows.map(([k, v]) => (
            <tr key={k}>
              <th scope="row">{k}</th>
              <td class="num">{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
