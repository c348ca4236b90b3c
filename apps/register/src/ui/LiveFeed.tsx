import { useEffect, useState } from 'preact/hooks';
import { describeError } from '../messages';
import { fmt, type Money } from '../money';
import type { Ctx } from './context';

interface LiveEvent {
  id: string;
  type: string;
  occurredAt: string;
  data: { receiptNumber?: number | null; total?: Money; storeId?: string; tenders?: Array<{ method: string }>; refund?: { total: Money }; sale?: { receiptNumber?: number | null } };
}

const TYPES = ['sale.completed', 'sale.refunded', 'sale.voided'] as const;

/**
 * Manager: sales as they happen (Server-Sent Events from the gateway). EventSource cannot send an
 * Authorization header, so each connection uses a one-use ticket; after a drop, a new ticket.
 */
export function LiveFeed({ ctx }: { ctx: Ctx }) {
  const [events, setEvents] = useState<LiveEvent[]>([]);
  const [state, setState] = useState<'connecting' | 'live' | 'reconnecting' | 'off'>('connecting');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let source: EventSource | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const connect = async () => {
      if (stopped) return;
      try {
        const { ticket } = await ctx.api.post<{ ticket: string }>('/api/v1/live/tickets', {});
        if (stopped) return;
        source = new EventSource(`/api/v1/live/sales?ticket=${encodeURIComponent(ticket)}`);
        source.onopen = () => {
          setState('live');
          setError(null);
        };
        const onEvent = (e: MessageEvent<string>) => {
          try {
            const ev = JSON.parse(e.data) as LiveEvent;
            setEvents((prev) => (prev.some((p) => p.id === ev.id) ? prev : [ev, ...prev].slice(0, 50)));
          } catch {
            // not an event envelope
          }
        };
        for (const t of TYPES) source.addEventListener(t, onEvent as EventListener);
        source.onerror = () => {
          // The ticket was used up by this connection: reconnect with a new one.
          source?.close();
          if (stopped) return;
          setState('reconnecting');
          timer = setTimeout(() => void connect(), 3_000);
        };
      } catch (err) {
        setError(describeError(err));
        setState('reconnecting');
        timer = setTimeout(() => void connect(), 5_000);
      }
    };
    void connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      source?.close();
      setState('off');
    };
  }, [ctx.api]);

  return (
    <section class="card" aria-labelledby="live-title">
      <div class="row spread">
        <h2 id="live-title">Live sales</h2>
        <span class={`pill ${state === 'live' ? 'pill-synced' : 'pill-pending'}`} role="status" data-testid="live-state">
          {state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : state === 'reconnecting' ? 'Reconnecting…' : 'Off'}
        </span>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {events.length === 0 && <p class="muted">Waiting for sales at your stores…</p>}
      <ul class="feed" aria-live="polite" data-testid="live-feed">
        {events.map((e) => (
          <li key={e.id}>
            <time>{new Date(e.occurredAt).toLocaleTimeString()}</time>
            <span class={`pill pill-${e.type === 'sale.completed' ? 'synced' : 'conflict'}`}>{e.type.replace('sale.', '')}</span>
            <span>
              {e.type === 'sale.refunded'
                ? `Receipt #${e.data.sale?.receiptNumber ?? '?'} refunded ${fmt(e.data.refund?.total)}`
                : `Receipt #${e.data.receiptNumber ?? '?'} ${fmt(e.data.total)}${e.data.tenders ? ` · ${e.data.tenders.map((t) => t.method).join(' + ')}` : ''}`}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
