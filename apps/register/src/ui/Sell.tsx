import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, newKey } from '../api';
import { addProduct, amountRemaining, lineDiscountFrom, planTenders, priceCart, offlineSaleRequest, saleRequest, type CartLine, type Tender } from '../cart';
import type { Product } from '../catalog';
import { describeError } from '../messages';
import { cashSuggestions, formatMoney, parseMoney, toDecimalString } from '../money';
import type { QueuedSale } from '../offline';
import type { Shift } from '../terminal';
import type { Customer, Sale } from '../types';
import type { Ctx } from './context';

export const CARD_TOKENS = [
  { token: 'tok_visa', label: 'Visa (approves)' },
  { token: 'tok_mastercard', label: 'Mastercard (approves)' },
  { token: 'tok_chargeDeclined', label: 'Declined card' },
  { token: 'tok_insufficientFunds', label: 'Insufficient funds' },
  { token: 'tok_processingError', label: 'Processor outage' },
];

export function Sell({ ctx }: { ctx: Ctx }) {
  if (!ctx.shift) return <OpenShift ctx={ctx} />;
  return <Register ctx={ctx} shift={ctx.shift} />;
}

function OpenShift({ ctx }: { ctx: Ctx }) {
  const { store } = ctx;
  const [float, setFloat] = useState(toDecimalString(10_000, store.currency));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const amount = parseMoney(float, store.currency);
    if (amount === null) return setError('Enter the float as an amount, e.g. 100.00');
    setBusy(true);
    setError(null);
    try {
      const shift = await ctx.api.post<Shift>('/api/v1/shifts', { storeId: store.id, openingFloat: { amount, currency: store.currency } });
      ctx.setShift(shift);
      ctx.notify('success', `Shift opened with a float of ${formatMoney(amount, store.currency)}.`);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'shift_already_open') {
        const open = await ctx.api.get<{ data: Shift[] }>(`/api/v1/shifts?storeId=${store.id}&status=open&mine=true&limit=1`);
        if (open.data[0]) return ctx.setShift(open.data[0]);
      }
      setError(describeError(err));
      setBusy(false);
    }
  };
  return (
    <form class="card narrow" onSubmit={submit} aria-labelledby="open-shift-title">
      <h2 id="open-shift-title">Open a shift at {store.name}</h2>
      <p class="muted">Count the cash in the drawer before the first sale.</p>
      <label for="float">Opening float ({store.currency})</label>
      <input id="float" inputMode="decimal" autocomplete="off" value={float} onInput={(e) => setFloat(e.currentTarget.value)} />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="btn-primary btn-block" disabled={busy || !ctx.online}>
        Open shift
      </button>
      {!ctx.online && <p class="muted small">Opening a shift needs the connection.</p>}
    </form>
  );
}

function Register({ ctx, shift }: { ctx: Ctx; shift: Shift }) {
  const { store, api, catalog } = ctx;
  const currency = store.currency;
  const money = (amount: number) => formatMoney(amount, currency);
  const [lines, setLines] = useState<CartLine[]>([]);
  const [tenders, setTenders] = useState<Tender[]>([]);
  const [customer, setCustomer] = useState<Customer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [results, setResults] = useState<Product[] | null>(null);
  // What the cashier typed as the payment amount; null shows what is still due. Reset in the same
  // handler as every cart or payment change (never in an effect, which could overwrite typing).
  const [typedAmount, setTypedAmount] = useState<string | null>(null);
  const [cardToken, setCardToken] = useState('tok_visa');
  // The request of the last attempt whose outcome is unknown: a retry must reuse its key.
  const attempt = useRef<{ key: string; body: string } | null>(null);
  const scanRef = useRef<HTMLInputElement>(null);
  const amountRef = useRef<HTMLInputElement>(null);

  const priced = useMemo(() => priceCart(lines, [], store.taxInclusive), [lines, store.taxInclusive]);
  const plan = planTenders(priced.total, tenders);
  const remaining = amountRemaining(priced.total, tenders);
  const canComplete = lines.length > 0 && plan.ok && !busy;

  useEffect(() => scanRef.current?.focus(), []);
  const amountText = typedAmount ?? (remaining ? toDecimalString(remaining, currency) : '');

  const add = (p: Product) => {
    if (p.price.currency !== currency) return setError(`${p.name} is priced in ${p.price.currency}; this store sells in ${currency}.`);
    setLines((prev) => addProduct(prev, p, newKey));
    setTypedAmount(null);
    setError(null);
  };

  const scan = async (code: string) => {
    setInfo(null);
    if (!code) return;
    if (!/^\d{4,20}$/.test(code)) return search(code);
    try {
      const { product, offline } = await catalog.lookup(code);
      if (!product) return setError(`No product has the barcode ${code}${offline ? ' in the offline catalog' : ''}.`);
      add(product);
      if (offline) setInfo(`Offline: ${product.name} priced from the cached catalog.`);
    } catch (err) {
      setError(describeError(err));
    }
  };

  const search = async (q: string) => {
    if (!q.trim()) return setResults(null);
    try {
      const { products, offline } = await catalog.search(q.trim());
      setResults(products);
      if (offline) setInfo('Offline: searching the cached catalog.');
    } catch (err) {
      setError(describeError(err));
    }
  };

  const setLine = (key: string, change: Partial<CartLine>) => {
    setLines((prev) => prev.map((l) => (l.key === key ? { ...l, ...change } : l)));
    setTypedAmount(null);
  };
  const removeLine = (key: string) => {
    setLines((prev) => prev.filter((l) => l.key !== key));
    setTypedAmount(null);
  };
  const removeTender = (index: number) => {
    setTenders((prev) => prev.filter((_, j) => j !== index));
    setTypedAmount(null);
  };

  const addTender = (method: 'cash' | 'card', amount = parseMoney(amountText, currency)) => {
    if (amount === null || amount <= 0) return setError('Enter the amount of the payment.');
    if (method === 'card' && amount > remaining) return setError(`A card payment can be at most what is still due (${money(remaining)}).`);
    setTenders((prev) => [...prev, method === 'card' ? { method, amount, cardToken } : { method, amount }]);
    setTypedAmount(null);
    setError(null);
  };

  const reset = () => {
    setLines([]);
    setTenders([]);
    setCustomer(null);
    setResults(null);
    setError(null);
    setInfo(null);
    setTypedAmount(null);
    attempt.current = null;
  };

  const complete = async () => {
    if (!canComplete) return;
    const body = saleRequest({ storeId: store.id, currency, customerId: customer?.id, lines, tenders });
    const bodyJson = JSON.stringify(body);
    const key = attempt.current?.body === bodyJson ? attempt.current.key : newKey();
    attempt.current = { key, body: bodyJson };
    setBusy(true);
    setError(null);
    try {
      const sale = await api.post<Sale>('/api/v1/transactions', body, { idempotencyKey: key });
      reset();
      ctx.showReceipt({ sale, customer, storeName: store.name });
    } catch (err) {
      // No answer from the gateway, or it cannot reach the services: a cash sale goes into the
      // offline queue with this very key (if the request did arrive, the sync finds that sale).
      const unreachable = err instanceof ApiError && (err.network || err.status === 502 || err.status === 503 || err.status === 504);
      if (unreachable && tenders.every((t) => t.method === 'cash')) {
        await queueOffline(key, body);
      } else if (err instanceof ApiError && err.outcomeUnknown) {
        setError(`${describeError(err)} The sale may or may not have gone through: press “Complete sale” again to find out (it is never charged twice).`);
      } else {
        attempt.current = null;
        setError(describeError(err, (id) => lines.find((l) => l.productId === id)?.name));
        if (err instanceof ApiError && err.status === 402) {
          // The declined card is taken off; the other payments stay for the next try.
          const declined = typeof err.problem?.tender === 'number' ? err.problem.tender : tenders.findIndex((t) => t.method === 'card');
          if (declined >= 0) removeTender(declined);
        }
      }
    } finally {
      setBusy(false);
    }
  };

  /** The gateway is unreachable: the cash sale is completed here and sent later with this key. */
  const queueOffline = async (key: string, firstBody: ReturnType<typeof saleRequest>) => {
    const now = new Date().toISOString();
    // Booked later at the prices charged here, dated now (POS-DESIGN §11 offline sales).
    const body = offlineSaleRequest(firstBody, lines, currency, now, ctx.terminal.terminalId, ctx.session.user.id);
    const localReceipt = `OFFLINE-${ctx.terminal.terminalId.slice(0, 4).toUpperCase()}-${Date.now().toString(36).toUpperCase()}`;
    const m = (amount: number) => ({ amount, currency });
    const sale: Sale = {
      id: key,
      status: 'queued',
      storeId: store.id,
      shiftId: shift.id,
      cashierId: ctx.session.user.id,
      customerId: customer?.id ?? null,
      receiptNumber: null,
      lines: lines.map((l, i) => ({
        id: l.key,
        productId: l.productId,
        sku: l.sku,
        name: l.name,
        quantity: l.quantity,
        unitPrice: m(l.unitPrice),
        discount: m(priced.lines[i]!.discount),
        tax: m(priced.lines[i]!.tax),
        total: m(priced.lines[i]!.total),
        refundedQuantity: 0,
      })),
      subtotal: m(priced.subtotal),
      discountTotal: m(priced.discountTotal),
      taxTotal: m(priced.taxTotal),
      total: m(priced.total),
      taxInclusive: store.taxInclusive,
      tenders: tenders.map((t) => ({ method: t.method, amount: m(t.amount), tendered: m(t.amount), paymentId: null, status: 'queued' })),
      changeDue: m(plan.ok ? plan.changeDue : 0),
      refundedTotal: m(0),
      createdAt: now,
      completedAt: null,
    };
    const entry: QueuedSale = {
      key,
      originalKey: key,
      tenantId: ctx.session.user.tenantId,
      storeId: store.id,
      userId: ctx.session.user.id,
      userName: ctx.session.user.name,
      terminalId: ctx.terminal.terminalId,
      createdAt: now,
      body,
      firstBody,
      local: {
        subtotal: priced.subtotal,
        discountTotal: priced.discountTotal,
        taxTotal: priced.taxTotal,
        total: priced.total,
        changeDue: plan.ok ? plan.changeDue : 0,
        currency,
        lines: sale.lines.map((l) => ({ name: l.name, quantity: l.quantity, total: l.total.amount })),
      },
      localReceipt,
      status: 'pending',
      attempts: 1,
    };
    await ctx.queue.add(entry);
    ctx.queueChanged();
    const keepCustomer = customer;
    reset();
    ctx.showReceipt({ sale, customer: keepCustomer, storeName: store.name, offline: { key, localReceipt } });
  };

  // The shortcuts call the latest render's `complete` (set during render, so a key pressed right
  // after a change never sees a stale cart).
  const completeRef = useRef(complete);
  completeRef.current = complete;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'F2') {
        e.preventDefault();
        scanRef.current?.focus();
      } else if (e.key === 'F4') {
        // Straight to the payment amount (selected, so typing replaces it); Enter takes it as cash.
        e.preventDefault();
        amountRef.current?.focus();
        amountRef.current?.select();
      } else if (e.key === 'F9') {
        e.preventDefault();
        void completeRef.current();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  const names = (l: CartLine) => `${l.name} (${l.sku})`;

  return (
    <div class="sell">
      <section class="sell-left" aria-label="Cart">
        <div class="scanbar">
          <label for="scan" class="sr-only">
            Scan a barcode or type a product name, then press Enter
          </label>
          <input
            id="scan"
            ref={scanRef}
            class="scan"
            placeholder="Scan barcode or search, then Enter (F2)"
            autocomplete="off"
            inputMode="search"
            data-testid="scan"
            onKeyDown={(e) => {
              if (e.key !== 'Enter') return;
              e.preventDefault();
              const value = e.currentTarget.value.trim();
              e.currentTarget.value = '';
              void scan(value);
            }}
          />
          <button
            type="button"
            onClick={() => {
              const value = scanRef.current?.value.trim() ?? '';
              if (scanRef.current) scanRef.current.value = '';
              void scan(value);
            }}
          >
            Add / search
          </button>
        </div>
        {results && (
          <div class="results" role="region" aria-label="Search results">
            {results.length === 0 ? (
              <p class="muted">No products found.</p>
            ) : (
              <ul>
                {results.map((p) => (
                  <li key={p.id}>
                    <button
                      type="button"
                      class="result"
                      onClick={() => {
                        add(p);
                        setResults(null);
                        scanRef.current?.focus();
                      }}
                    >
                      <span>{p.name}</span>
                      <span class="muted">{p.sku}</span>
                      <span>{formatMoney(p.price.amount, p.price.currency)}</span>
                    </button>
                  </li>
                ))}
              </ul>
            )}
            <button type="button" class="btn-quiet" onClick={() => setResults(null)}>
              Close results
            </button>
          </div>
        )}
        {info && (
          <p class="notice notice-info" role="status">
            {info}
          </p>
        )}
        <div class="cart-wrap">
          <table class="cart" aria-label="Items in the sale">
            <thead>
              <tr>
                <th scope="col">Item</th>
                <th scope="col" class="num">
                  Price
                </th>
                <th scope="col">Qty</th>
                <th scope="col">Discount</th>
                <th scope="col" class="num">
                  Total
                </th>
                <th scope="col">
                  <span class="sr-only">Remove</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {lines.length === 0 && (
                <tr>
                  <td colSpan={6} class="empty">
                    Scan a product to start the sale.
                  </td>
                </tr>
              )}
              {lines.map((l, i) => (
                <CartRow
                  key={l.key}
                  line={l}
                  label={names(l)}
                  total={money(priced.lines[i]?.total ?? 0)}
                  currency={currency}
                  onChange={(change) => setLine(l.key, change)}
                  onRemove={() => removeLine(l.key)}
                />
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section class="sell-right" aria-label="Customer and payment">
        <CustomerPanel ctx={ctx} customer={customer} onAttach={setCustomer} />
        <dl class="totals" aria-label="Totals (estimate; the server's receipt is final)">
          <dt>Subtotal</dt>
          <dd data-testid="subtotal">{money(priced.subtotal)}</dd>
          {priced.discountTotal > 0 && (
            <>
              <dt>Discounts</dt>
              <dd>−{money(priced.discountTotal)}</dd>
            </>
          )}
          <dt>{store.taxInclusive ? 'Tax included' : 'Tax'}</dt>
          <dd>{money(priced.taxTotal)}</dd>
          <dt class="grand">Total</dt>
          <dd class="grand" data-testid="total">
            {money(priced.total)}
          </dd>
        </dl>

        <div class="tender" role="group" aria-labelledby="pay-title">
          <h2 id="pay-title" class="h3">
            Payment {remaining > 0 && <span class="due">· due {money(remaining)}</span>}
          </h2>
          <div class="tender-row">
            <label for="tender-amount" title="F4, then Enter for cash">
              Amount
            </label>
            <input
              id="tender-amount"
              ref={amountRef}
              inputMode="decimal"
              autocomplete="off"
              value={amountText}
              onInput={(e) => setTypedAmount(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter') {
                  e.preventDefault();
                  addTender('cash');
                }
              }}
            />
            <button type="button" class="btn-cash" disabled={!lines.length} onClick={() => addTender('cash')}>
              Cash
            </button>
          </div>
          <div class="quick" role="group" aria-label="Quick cash amounts">
            {remaining > 0 &&
              cashSuggestions(remaining, currency).map((a) => (
                <button type="button" key={a} onClick={() => addTender('cash', a)} aria-label={`Cash ${money(a)}`}>
                  {money(a)}
                </button>
              ))}
          </div>
          <div class="tender-row">
            <label for="card-token">Card</label>
            <select id="card-token" value={cardToken} onChange={(e) => setCardToken(e.currentTarget.value)}>
              {CARD_TOKENS.map((t) => (
                <option key={t.token} value={t.token}>
                  {t.label}
                </option>
              ))}
            </select>
            <button type="button" disabled={!lines.length || remaining === 0 || !ctx.online} onClick={() => addTender('card')}>
              Card
            </button>
          </div>
          {tenders.length > 0 && (
            <ul class="tenders" aria-label="Payments">
              {tenders.map((t, i) => (
                <li key={i}>
                  <span>
                    {t.method === 'cash' ? 'Cash' : `Card ${t.cardToken}`} {money(t.amount)}
                  </span>
                  <button type="button" class="btn-quiet" aria-label={`Remove payment ${i + 1}`} onClick={() => removeTender(i)}>
                    ×
                  </button>
                </li>
              ))}
            </ul>
          )}
          {plan.ok && tenders.length > 0 && (
            <p class="change" data-testid="change-due" aria-live="polite">
              Change due <strong>{money(plan.changeDue)}</strong>
            </p>
          )}
          {!plan.ok && plan.code === 'non_cash_exceeds_total' && <p class="error">{plan.message}</p>}
          {error && (
            <p class="error" role="alert" data-testid="sale-error">
              {error}
            </p>
          )}
          <div class="actions">
            <button type="button" class="btn-quiet" onClick={reset} disabled={busy || (!lines.length && !tenders.length)}>
              Clear
            </button>
            <button type="button" class="btn-primary" disabled={!canComplete} onClick={() => void complete()}>
              {busy ? 'Completing…' : 'Complete sale (F9)'}
            </button>
          </div>
        </div>
      </section>
    </div>
  );
}

function CartRow(props: { line: CartLine; label: string; total: string; currency: string; onChange(change: Partial<CartLine>): void; onRemove(): void }) {
  const { line, label, currency, onChange } = props;
  const [kind, setKind] = useState<'percent' | 'amount'>(line.discount && 'amount' in line.discount ? 'amount' : 'percent');
  const [text, setText] = useState(line.discount ? ('percent' in line.discount ? String(line.discount.percent) : toDecimalString(line.discount.amount, currency)) : '');
  const [bad, setBad] = useState(false);
  const apply = (k: typeof kind, value: string) => {
    if (!value.trim()) {
      setBad(false);
      return onChange({ discount: undefined });
    }
    const parsed = k === 'percent' ? (/^\d{1,3}([.,]\d{1,2})?$/.test(value.trim()) ? Number(value.trim().replace(',', '.')) : null) : parseMoney(value, currency);
    setBad(parsed === null || (k === 'percent' && parsed > 100));
    if (parsed !== null) onChange({ discount: lineDiscountFrom(k, parsed) });
  };
  return (
    <tr>
      <th scope="row" class="item">
        {line.name}
        <span class="muted small">{line.sku}</span>
      </th>
      <td class="num">{formatMoney(line.unitPrice, currency)}</td>
      <td>
        <div class="qty">
          <button type="button" aria-label={`One less ${label}`} disabled={line.quantity <= 1} onClick={() => onChange({ quantity: line.quantity - 1 })}>
            −
          </button>
          <input
            aria-label={`Quantity of ${label}`}
            inputMode="numeric"
            value={String(line.quantity)}
            onChange={(e) => {
              const q = Number.parseInt(e.currentTarget.value, 10);
              if (Number.isInteger(q) && q >= 1 && q <= 10_000) onChange({ quantity: q });
              else e.currentTarget.value = String(line.quantity);
            }}
          />
          <button type="button" aria-label={`One more ${label}`} onClick={() => onChange({ quantity: line.quantity + 1 })}>
            +
          </button>
        </div>
      </td>
      <td>
        <div class="disc">
          <input
            aria-label={`Discount on ${label}`}
            aria-invalid={bad}
            inputMode="decimal"
            placeholder="0"
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            onChange={(e) => apply(kind, e.currentTarget.value)}
          />
          <select
            aria-label={`Discount type for ${label}`}
            value={kind}
            onChange={(e) => {
              const k = e.currentTarget.value as typeof kind;
              setKind(k);
              apply(k, text);
            }}
          >
            <option value="percent">%</option>
            <option value="amount">{currency}</option>
          </select>
        </div>
      </td>
      <td class="num">{props.total}</td>
      <td>
        <button type="button" class="btn-quiet" aria-label={`Remove ${label}`} onClick={props.onRemove}>
          ×
        </button>
      </td>
    </tr>
  );
}

function CustomerPanel({ ctx, customer, onAttach }: { ctx: Ctx; customer: Customer | null; onAttach(c: Customer | null): void }) {
  const [q, setQ] = useState('');
  const [found, setFound] = useState<Customer[] | null>(null);
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [error, setError] = useState<string | null>(null);

  const find = async (e: Event) => {
    e.preventDefault();
    if (!q.trim()) return;
    setError(null);
    try {
      const page = await ctx.api.get<{ data: Customer[] }>(`/api/v1/customers?limit=8&q=${encodeURIComponent(q.trim())}`);
      setFound(page.data);
    } catch (err) {
      setFound(null);
      setError(err instanceof ApiError && err.status === 503 && !err.network ? 'Customer lookup is not available right now (customer-service is down).' : describeError(err));
    }
  };

  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const c = await ctx.api.post<Customer>('/api/v1/customers', { name: name.trim(), ...(email.trim() ? { email: email.trim() } : {}) });
      onAttach(c);
      setCreating(false);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'customer_exists' && typeof err.problem?.existingCustomerId === 'string') {
        onAttach(await ctx.api.get<Customer>(`/api/v1/customers/${err.problem.existingCustomerId}`));
        setCreating(false);
      } else setError(describeError(err));
    }
  };

  if (customer) {
    return (
      <div class="customer attached" data-testid="customer">
        <span>
          Customer: <strong>{customer.name}</strong> {customer.email && <span class="muted">{customer.email}</span>}
        </span>
        <button type="button" class="btn-quiet" onClick={() => onAttach(null)}>
          Remove customer
        </button>
      </div>
    );
  }
  return (
    <div class="customer">
      <form class="row" onSubmit={find} role="search" aria-label="Find a customer">
        <label for="customer-q" class="sr-only">
          Customer name, email or phone
        </label>
        <input id="customer-q" placeholder="Customer: name, email or phone" value={q} onInput={(e) => setQ(e.currentTarget.value)} disabled={!ctx.online} />
        <button type="submit" disabled={!ctx.online}>
          Find
        </button>
        <button type="button" class="btn-quiet" disabled={!ctx.online} onClick={() => setCreating(!creating)} aria-expanded={creating}>
          New
        </button>
      </form>
      {creating && (
        <form class="row" onSubmit={create} aria-label="New customer">
          <label for="new-customer-name" class="sr-only">
            Name
          </label>
          <input id="new-customer-name" placeholder="Name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          <label for="new-customer-email" class="sr-only">
            Email
          </label>
          <input id="new-customer-email" type="email" placeholder="Email (optional)" value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
          <button type="submit">Add</button>
        </form>
      )}
      {found && (
        <ul class="found" aria-label="Customers found">
          {found.length === 0 && <li class="muted">No customer found.</li>}
          {found.map((c) => (
            <li key={c.id}>
              <button
                type="button"
                class="result"
                onClick={() => {
                  onAttach(c);
                  setFound(null);
                  setQ('');
                }}
              >
                <span>{c.name}</span>
                <span class="muted">{c.email ?? c.phone ?? ''}</span>
                <span>Attach</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
