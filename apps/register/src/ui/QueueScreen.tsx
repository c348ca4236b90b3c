import { useEffect, useState } from 'preact/hooks';
import { newKey } from '../api';
import { describeError } from '../messages';
import { formatMoney } from '../money';
import { describeServerFlags, mayBeSentBy, type QueuedSale } from '../offline';
import type { Ctx } from './context';

const STATUS_LABEL: Record<QueuedSale['status'], string> = { pending: 'Waiting to send', synced: 'Booked', conflict: 'Conflict', resolved: 'Resolved by a manager' };

/** The offline queue: every sale made without a connection, what became of it, and the conflicts. */
export function QueueScreen({ ctx, syncing }: { ctx: Ctx; syncing: boolean }) {
  const [entries, setEntries] = useState<QueuedSale[] | null>(null);
  const [catalogInfo, setCatalogInfo] = useState<{ count: number; at: string } | undefined>();
  const [note, setNote] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  const load = async () => {
    const all = await ctx.queue.list();
    setEntries(all.filter((e) => e.tenantId === ctx.session.user.tenantId).reverse());
    setCatalogInfo(await ctx.catalog.info());
  };
  useEffect(() => {
    void load();
    // Reload when a sync finishes.
  }, [syncing]);

  const act = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await fn();
    } catch (err) {
      ctx.notify('error', describeError(err));
    } finally {
      setBusy(false);
      ctx.queueChanged();
      await load();
    }
  };

  const pending = entries?.filter((e) => e.status === 'pending' && mayBeSentBy(e, ctx.session.user)).length ?? 0;
  return (
    <div class="stack">
      <section class="card" aria-labelledby="queue-title">
        <div class="row spread">
          <h2 id="queue-title">Offline sales</h2>
          <div class="row">
            <button type="button" disabled={!ctx.online || busy || syncing || pending === 0} onClick={() => void act(() => ctx.syncNow())}>
              {syncing ? 'Sending…' : `Send now (${pending})`}
            </button>
            <button
              type="button"
              disabled={!ctx.online || busy}
              onClick={() => void act(async () => ctx.notify('success', `Catalog cached for offline sales: ${await ctx.catalog.refresh(ctx.session.user.tenantId)} products.`))}
            >
              Refresh offline catalog
            </button>
          </div>
        </div>
        <p class="muted small">
          Cash sales made while the server could not be reached are kept here and sent with their original key when the connection returns, so each is booked
          exactly once. Offline catalog: {catalogInfo ? `${catalogInfo.count} products, saved ${new Date(catalogInfo.at).toLocaleString()}` : 'not saved yet'}.
        </p>
        {entries && entries.length === 0 && <p>No offline sales on this terminal.</p>}
        {entries && entries.length > 0 && (
          <table class="list" data-testid="queue-table">
            <thead>
              <tr>
                <th scope="col">Made</th>
                <th scope="col">Register receipt</th>
                <th scope="col" class="num">
                  Total
                </th>
                <th scope="col">Status</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.key} class={`q-${e.status}${e.flag ? ' q-flag' : ''}`} data-status={e.status}>
                  <td>
                    {new Date(e.createdAt).toLocaleTimeString()}
                    <br />
                    <span class="small muted">{e.userName}</span>
                  </td>
                  <td>{e.localReceipt}</td>
                  <td class="num">{formatMoney(e.local.total, e.local.currency)}</td>
                  <td>
                    <span class={`pill pill-${e.status}`}>{STATUS_LABEL[e.status]}</span>
                  </td>
                  <td class="details">
                    {e.server && (
                      <div>
                        Receipt #{e.server.receiptNumber} · booked {formatMoney(e.server.total, e.local.currency)}
                        {e.server.replayed ? ' (already received earlier)' : ''}
                      </div>
                    )}
                    {e.flag && <div class="warn">{describeFlag(e)}</div>}
                    {e.lastError && e.status !== 'synced' && <div class={e.status === 'conflict' ? 'error' : 'muted'}>{e.lastError}</div>}
                    {e.resolution && (
                      <div class="muted">
                        {e.resolvedBy}: {e.resolution}
                      </div>
                    )}
                    {e.status === 'conflict' &&
                      (ctx.isManager ? (
                        <div class="row">
                          <button type="button" disabled={busy} onClick={() => void act(async () => ctx.queue.retry(e.key, newKey()).then(() => ctx.syncNow()))}>
                            Send again
                          </button>
                          <label class="sr-only" for={`resolve-${e.key}`}>
                            How it was settled
                          </label>
                          <input
                            id={`resolve-${e.key}`}
                            placeholder="How it was settled"
                            value={note[e.key] ?? ''}
                            onInput={(ev) => setNote({ ...note, [e.key]: ev.currentTarget.value })}
                          />
                          <button
                            type="button"
                            disabled={busy || !(note[e.key] ?? '').trim()}
                            onClick={() => void act(() => ctx.queue.resolve(e.key, ctx.session.user.name, note[e.key]!.trim()))}
                          >
                            Mark resolved
                          </button>
                        </div>
                      ) : (
                        <div class="small">A manager must settle this sale.</div>
                      ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function describeFlag(e: QueuedSale): string {
  if (!e.server) return e.flag ?? '';
  const c = e.local.currency;
  const notes: string[] = [];
  if (e.server.total !== e.local.total) notes.push(`Price changed since the sale: the register charged ${formatMoney(e.local.total, c)}, the server booked ${formatMoney(e.server.total, c)}.`);
  if (e.server.flags?.length) notes.push(`For review: ${describeServerFlags(e.server.flags)}.`);
  // Entries synced before the server knew offline sales have only the text.
  return notes.length ? notes.join(' ') : (e.flag ?? '');
}
