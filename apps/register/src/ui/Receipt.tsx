import { Fragment } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api';
import { describeError } from '../messages';
import { fmt } from '../money';
import type { ReceiptView } from '../types';
import type { Ctx } from './context';

/** The sale's receipt: on screen and on paper (the print stylesheet prints only this card). */
export function Receipt({ ctx, receipt, onNewSale }: { ctx: Ctx; receipt: ReceiptView; onNewSale(): void }) {
  const { sale, offline, customer } = receipt;
  const newSaleRef = useRef<HTMLButtonElement>(null);
  const [emailState, setEmailState] = useState<{ kind: 'idle' | 'sending' | 'sent' | 'error'; text?: string }>({ kind: 'idle' });
  useEffect(() => newSaleRef.current?.focus(), []);

  const emailTo = customer?.email ?? null;
  const emailBlocked = offline
    ? 'Email is available once this offline sale has been sent.'
    : !customer
      ? 'Attach a customer to email the receipt.'
      : !emailTo
        ? 'The customer has no email address.'
        : !ctx.isManager
          ? 'Cashiers cannot send email from the register: the receipt is emailed automatically when receipt emails are turned on for this business.'
          : null;

  const sendEmail = async () => {
    if (emailBlocked || !emailTo) return;
    setEmailState({ kind: 'sending' });
    try {
      const text = await ctx.api.request<string>('GET', `/api/v1/transactions/${sale.id}/receipt?format=text`, { text: true }).then((r) => r.data);
      await ctx.api.post('/api/v1/notifications/email', { to: emailTo, subject: `Your receipt ${sale.receiptNumber ?? ''} from ${receipt.storeName}`.trim(), text }, { idempotencyKey: `receipt-email:${sale.id}` });
      setEmailState({ kind: 'sent', text: `Receipt emailed to ${emailTo}.` });
    } catch (err) {
      setEmailState({ kind: 'error', text: err instanceof ApiError && err.status === 503 && !err.network ? 'Email is not available right now (notification-service is down).' : describeError(err) });
    }
  };

  const when = new Date(sale.completedAt ?? sale.createdAt);
  return (
    <div class="receipt-screen">
      <article class="receipt card" aria-labelledby="receipt-title" data-testid="receipt">
        <header>
          <h2 id="receipt-title">{receipt.storeName}</h2>
          <p>
            {offline ? (
              <strong data-testid="receipt-number">Offline sale {offline.localReceipt}</strong>
            ) : (
              <strong data-testid="receipt-number">Receipt #{sale.receiptNumber}</strong>
            )}
            <br />
            <span class="muted">{when.toLocaleString()}</span>
          </p>
          {offline && (
            <p class="notice notice-info no-print-border" role="status">
              Not sent yet: this sale will be booked when the connection returns (key {offline.key.slice(0, 8)}…).
            </p>
          )}
        </header>
        <table class="receipt-lines">
          <caption class="sr-only">Items</caption>
          <tbody>
            {sale.lines.map((l) => (
              <tr key={l.id}>
                <td>
                  {l.quantity} × {l.name}
                  {l.discount.amount > 0 && <span class="muted small"> (−{fmt(l.discount)})</span>}
                </td>
                <td class="num">{fmt(l.total)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <dl class="totals">
          <dt>Subtotal</dt>
          <dd>{fmt(sale.subtotal)}</dd>
          {sale.discountTotal.amount > 0 && (
            <>
              <dt>Discounts</dt>
              <dd>−{fmt(sale.discountTotal)}</dd>
            </>
          )}
          <dt>{sale.taxInclusive ? 'Tax included' : 'Tax'}</dt>
          <dd>{fmt(sale.taxTotal)}</dd>
          <dt class="grand">Total</dt>
          <dd class="grand" data-testid="receipt-total">
            {fmt(sale.total)}
          </dd>
          {sale.tenders.map((t, i) => (
            <Fragment key={i}>
              <dt>{t.method === 'cash' ? 'Cash' : t.method === 'card' ? 'Card' : t.method}</dt>
              <dd>{fmt(t.tendered ?? t.amount)}</dd>
            </Fragment>
          ))}
          <dt class="grand">Change</dt>
          <dd class="grand" data-testid="receipt-change">
            {fmt(sale.changeDue)}
          </dd>
        </dl>
        {customer && <p class="small">Customer: {customer.name}</p>}
        <p class="small muted center">Thank you!</p>
      </article>
      <div class="receipt-actions no-print">
        <button type="button" ref={newSaleRef} class="btn-primary" onClick={onNewSale}>
          New sale
        </button>
        <button type="button" onClick={() => window.print()}>
          Print receipt
        </button>
        <button type="button" disabled={Boolean(emailBlocked) || emailState.kind === 'sending' || emailState.kind === 'sent'} aria-describedby="email-help" onClick={() => void sendEmail()}>
          {emailState.kind === 'sending' ? 'Sending…' : 'Email receipt'}
        </button>
        <p id="email-help" class="small muted" role={emailState.kind === 'error' ? 'alert' : 'status'}>
          {emailState.text ?? emailBlocked ?? `To ${emailTo}`}
        </p>
      </div>
    </div>
  );
}
