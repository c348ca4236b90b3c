import { useEffect, useState } from 'preact/hooks';
import { describeError } from '../messages';
import { formatMoney, type Money } from '../money';
import { localDate } from '../terminal';
import type { Ctx } from './context';

interface ReportRow {
  key: string;
  salesCount: number;
  net: Money;
}

interface SalesReport {
  timezone: string;
  rows: ReportRow[];
  totals: { salesCount: number; gross: Money; discounts: Money; tax: Money; net: Money; refunds: Money; netAfterRefunds: Money };
}

/** Manager: today's sales at the store, by hour (store-local), as a small SVG bar chart and a table. */
export function Reports({ ctx }: { ctx: Ctx }) {
  const { store, api } = ctx;
  const [report, setReport] = useState<SalesReport | null>(null);
  const [tenders, setTenders] = useState<ReportRow[]>([]);
  const [error, setError] = useState<string | null>(null);
  const day = localDate(store.timezone);

  const load = async () => {
    setError(null);
    try {
      const q = `from=${day}&to=${day}&storeId=${store.id}`;
      const [byHour, byTender] = await Promise.all([
        api.get<SalesReport>(`/api/v1/reports/sales?${q}&groupBy=hour`),
        api.get<SalesReport>(`/api/v1/reports/sales?${q}&groupBy=tender`),
      ]);
      setReport(byHour);
      setTenders(byTender.rows);
    } catch (err) {
      setError(describeError(err));
    }
  };
  useEffect(() => void load(), [store.id]);

  const currency = store.currency;
  const hours = Array.from({ length: 24 }, (_, h) => {
    const row = report?.rows.find((r) => Number(r.key) === h);
    return { hour: h, net: row?.net.amount ?? 0, count: row?.salesCount ?? 0 };
  });
  return (
    <div class="stack">
      <section class="card" aria-labelledby="today-title">
        <div class="row spread">
          <h2 id="today-title">
            Today at {store.name} <span class="muted small">({day}, {store.timezone})</span>
          </h2>
          <button type="button" onClick={() => void load()}>
            Refresh
          </button>
        </div>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {report && (
          <>
            <dl class="kpis" data-testid="report-totals">
              <div>
                <dt>Sales</dt>
                <dd>{report.totals.salesCount}</dd>
              </div>
              <div>
                <dt>Net</dt>
                <dd>{formatMoney(report.totals.net.amount, currency)}</dd>
              </div>
              <div>
                <dt>Tax</dt>
                <dd>{formatMoney(report.totals.tax.amount, currency)}</dd>
              </div>
              <div>
                <dt>Refunds</dt>
                <dd>{formatMoney(report.totals.refunds.amount, currency)}</dd>
              </div>
              <div>
                <dt>After refunds</dt>
                <dd>{formatMoney(report.totals.netAfterRefunds.amount, currency)}</dd>
              </div>
            </dl>
            <BarChart data={hours} currency={currency} />
            <p class="small muted">
              By tender: {tenders.length ? tenders.map((t) => `${t.key} ${formatMoney(t.net.amount, currency)}`).join(' · ') : 'no sales yet'}
            </p>
            <details>
              <summary>Sales by hour as a table</summary>
              <table class="list">
                <thead>
                  <tr>
                    <th scope="col">Hour</th>
                    <th scope="col" class="num">
                      Sales
                    </th>
                    <th scope="col" class="num">
                      Net
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {hours
                    .filter((h) => h.count > 0)
                    .map((h) => (
                      <tr key={h.hour}>
                        <td>{String(h.hour).padStart(2, '0')}:00</td>
                        <td class="num">{h.count}</td>
                        <td class="num">{formatMoney(h.net, currency)}</td>
                      </tr>
                    ))}
                </tbody>
              </table>
            </details>
          </>
        )}
      </section>
    </div>
  );
}

/** 24 bars, one per hour; no chart library. The numbers are also in the table below it. */
export function BarChart({ data, currency }: { data: Array<{ hour: number; net: number; count: number }>; currency: string }) {
  const width = 920;
  const height = 240;
  const pad = { left: 64, right: 8, top: 12, bottom: 28 };
  const max = Math.max(1, ...data.map((d) => d.net));
  const band = (width - pad.left - pad.right) / data.length;
  const y = (v: number) => pad.top + (height - pad.top - pad.bottom) * (1 - v / max);
  const ticks = [0, 0.5, 1].map((f) => Math.round(max * f));
  const busiest = data.reduce((a, b) => (b.net > a.net ? b : a), data[0]!);
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`Net sales by hour today; busiest hour ${String(busiest.hour).padStart(2, '0')}:00 with ${formatMoney(busiest.net, currency)}`}
      data-testid="sales-chart"
    >
      {ticks.map((t) => (
        <g key={t}>
          <line x1={pad.left} x2={width - pad.right} y1={y(t)} y2={y(t)} class="grid" />
          <text x={pad.left - 6} y={y(t) + 4} text-anchor="end" class="axis">
            {formatMoney(t, currency)}
          </text>
        </g>
      ))}
      {data.map((d, i) => (
        <g key={d.hour}>
          {d.net > 0 && (
            <rect x={pad.left + i * band + 3} y={y(d.net)} width={band - 6} height={height - pad.bottom - y(d.net)} class="bar">
              <title>
                {String(d.hour).padStart(2, '0')}:00 — {d.count} sales, {formatMoney(d.net, currency)}
              </title>
            </rect>
          )}
          {d.hour % 3 === 0 && (
            <text x={pad.left + i * band + band / 2} y={height - 8} text-anchor="middle" class="axis">
              {String(d.hour).padStart(2, '0')}
            </text>
          )}
        </g>
      ))}
    </svg>
  );
}
