import { minorUnits } from '@pos/types';
import type { SaleView } from './data/sale-repository';

function format(m: { amount: number; currency: string }): string {
  const digits = minorUnits(m.currency);
  const sign = m.amount < 0 ? '-' : '';
  const abs = Math.abs(m.amount);
  const whole = Math.floor(abs / 10 ** digits);
  const frac = digits ? `.${String(abs % 10 ** digits).padStart(digits, '0')}` : '';
  return `${sign}${whole}${frac}`;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export interface ReceiptHeader {
  storeName: string;
}

/** 40-column plain text, the width of a common receipt printer. */
export function receiptText(sale: SaleView, header: ReceiptHeader): string {
  const width = 40;
  const row = (left: string, right: string) => `${left.slice(0, width - right.length - 1).padEnd(width - right.length)}${right}`;
  const lines = [header.storeName.slice(0, width), `Receipt #${sale.receiptNumber ?? '-'}  ${sale.businessDate}`];
  // A reprint of an offline sale must match the paper the customer got at the till.
  if (sale.offline) lines.push(`Offline sale, terminal ${sale.offline.terminalId}`.slice(0, width));
  lines.push('-'.repeat(width));
  for (const l of sale.lines) {
    lines.push(row(`${l.quantity} x ${l.name}`, format(l.total)));
    if (l.discount.amount) lines.push(row('   discount', `-${format(l.discount)}`));
  }
  lines.push('-'.repeat(width), row('Subtotal', format(sale.subtotal)));
  if (sale.discountTotal.amount) lines.push(row('Discounts', `-${format(sale.discountTotal)}`));
  lines.push(row(sale.taxInclusive ? 'Tax included' : 'Tax', format(sale.taxTotal)), row(`TOTAL ${sale.total.currency}`, format(sale.total)));
  for (const t of sale.tenders) lines.push(row(`  ${t.method.replace('_', ' ')}`, format(t.method === 'cash' ? t.tendered : t.amount)));
  if (sale.changeDue.amount) lines.push(row('Change', format(sale.changeDue)));
  if (sale.status !== 'completed') lines.push('', `*** ${sale.status.toUpperCase()} ***`);
  lines.push('', 'Thank you!');
  return `${lines.join('\n')}\n`;
}

/** A printable HTML receipt (its print stylesheet fits 80 mm paper). Every value is escaped. */
export function receiptHtml(sale: SaleView, header: ReceiptHeader): string {
  const rows = sale.lines
    .map((l) => `<tr><td>${l.quantity} × ${escapeHtml(l.name)}</td><td class="n">${format(l.total)}</td></tr>${l.discount.amount ? `<tr class="d"><td>discount</td><td class="n">-${format(l.discount)}</td></tr>` : ''}`)
    .join('');
  const tenders = sale.tenders.map((t) => `<tr><td>${escapeHtml(t.method.replace('_', ' '))}</td><td class="n">${format(t.method === 'cash' ? t.tendered : t.amount)}</td></tr>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Receipt ${sale.receiptNumber ?? ''}</title>
<style>body{font-family:ui-monospace,monospace;max-width:80mm;margin:0 auto}table{width:100%;border-collapse:collapse}.n{text-align:right}.d td{font-size:.85em;color:#555}
@media print{@page{size:80mm auto;margin:2mm}body{max-width:none}}</style></head><body>
<h1>${escapeHtml(header.storeName)}</h1><p>Receipt #${sale.receiptNumber ?? '-'} · ${sale.businessDate}</p>${sale.offline ? `<p>Offline sale, terminal ${escapeHtml(sale.offline.terminalId)}</p>` : ''}
<table>${rows}
<tr><td>Subtotal</td><td class="n">${format(sale.subtotal)}</td></tr>
${sale.discountTotal.amount ? `<tr><td>Discounts</td><td class="n">-${format(sale.discountTotal)}</td></tr>` : ''}
<tr><td>${sale.taxInclusive ? 'Tax included' : 'Tax'}</td><td class="n">${format(sale.taxTotal)}</td></tr>
<tr><th>Total ${escapeHtml(sale.total.currency)}</th><th class="n">${format(sale.total)}</th></tr>
${tenders}
${sale.changeDue.amount ? `<tr><td>Change</td><td class="n">${format(sale.changeDue)}</td></tr>` : ''}
</table>${sale.status !== 'completed' ? `<p><strong>${escapeHtml(sale.status.toUpperCase())}</strong></p>` : ''}<p>Thank you!</p></body></html>`;
}

export { format as formatMoney };
