import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Api, type Session } from '../api';
import { Catalog } from '../catalog';
import { Db, openDb } from '../db';
import { OfflineQueue, mayBeSentBy, type PostSale } from '../offline';
import { loadShift, loadTerminal, saveShift, saveTerminal, type Shift, type StoreInfo, type TerminalConfig } from '../terminal';
import type { ReceiptView, Sale } from '../types';
import type { Ctx, Notify, View } from './context';
import { Login } from './Login';
import { Sell } from './Sell';
import { Receipt } from './Receipt';
import { ShiftScreen } from './ShiftScreen';
import { QueueScreen } from './QueueScreen';
import { Refunds } from './Refunds';
import { Reports } from './Reports';
import { LowStock } from './LowStock';
import { LiveFeed } from './LiveFeed';

interface Boot {
  catalog: Catalog;
  queue: OfflineQueue;
}

interface Me {
  user: Session['user'];
  tenant: { id: string; name: string };
  stores: StoreInfo[];
}

const NAV: Array<{ view: View; label: string; manager?: boolean }> = [
  { view: 'sell', label: 'Sell' },
  { view: 'shift', label: 'Shift' },
  { view: 'queue', label: 'Offline queue' },
  { view: 'refunds', label: 'Refunds', manager: true },
  { view: 'reports', label: 'Today', manager: true },
  { view: 'stock', label: 'Low stock', manager: true },
  { view: 'live', label: 'Live', manager: true },
];

export function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [ended, setEnded] = useState<string | null>(null);
  const [online, setOnline] = useState(typeof navigator === 'undefined' ? true : navigator.onLine);
  const onlineRef = useRef(online);
  const setReachable = useCallback((value: boolean) => {
    if (onlineRef.current !== value) {
      onlineRef.current = value;
      setOnline(value);
    }
  }, []);

  const api = useMemo(
    () =>
      new Api({
        storage: sessionStorage,
        onSessionEnded: (reason) => {
          setSession(null);
          if (reason === 'expired') setEnded('Your session has expired. Please log in again.');
        },
        onReachability: (value) => setReachable(value),
      }),
    [setReachable],
  );

  const [boot, setBoot] = useState<Boot | null>(null);
  const [bootError, setBootError] = useState<string | null>(null);
  const [terminal, setTerminalState] = useState<TerminalConfig>(() => loadTerminal());
  const [shift, setShiftState] = useState<Shift | undefined>(() => loadShift());
  const [view, setView] = useState<View>('sell');
  const [receipt, setReceipt] = useState<ReceiptView | null>(null);
  const [notice, setNotice] = useState<{ kind: 'info' | 'success' | 'error'; text: string } | null>(null);
  // pending: what this login can send; waiting: colleagues' sales left for them or a manager.
  const [queueInfo, setQueueInfo] = useState({ pending: 0, waiting: 0, conflicts: 0 });
  const waitingNoticeShown = useRef('');
  const [syncing, setSyncing] = useState(false);

  const setTerminal = (t: TerminalConfig) => {
    saveTerminal(t);
    setTerminalState(t);
  };
  const setShift = useCallback((s: Shift | undefined) => {
    saveShift(s);
    setShiftState(s);
  }, []);
  const notify: Notify = useCallback((kind, text) => setNotice({ kind, text }), []);

  // Confirmations fade after a few seconds; errors stay until dismissed.
  useEffect(() => {
    if (!notice || notice.kind === 'error') return;
    const timer = setTimeout(() => setNotice(null), 6_000);
    return () => clearTimeout(timer);
  }, [notice]);

  useEffect(() => {
    setSession(api.session);
    openDb()
      .then((db) => {
        const d = new Db(db);
        setBoot({ catalog: new Catalog(api, d), queue: new OfflineQueue(d) });
      })
      .catch((err: Error) => setBootError(`This browser's storage (IndexedDB) is not available: ${err.message}`));
  }, [api]);

  const refreshQueueInfo = useCallback(async () => {
    if (!boot) return;
    const all = await boot.queue.list();
    const mine = all.filter((e) => !terminal.tenantId || e.tenantId === terminal.tenantId);
    const pending = mine.filter((e) => e.status === 'pending');
    const user = api.session?.user;
    const sendable = user ? pending.filter((e) => mayBeSentBy(e, user)).length : pending.length;
    setQueueInfo({ pending: sendable, waiting: pending.length - sendable, conflicts: mine.filter((e) => e.status === 'conflict').length });
  }, [api, boot, terminal.tenantId]);

  useEffect(() => {
    void refreshQueueInfo();
  }, [refreshQueueInfo]);

  const postSale: PostSale = useCallback(
    async (key, body) => {
      const res = await api.request<Sale>('POST', '/api/v1/transactions', { body, idempotencyKey: key });
      return { sale: res.data, replayed: res.headers.get('idempotent-replayed') === 'true' };
    },
    [api],
  );

  const syncNow = useCallback(async () => {
    if (!boot || !api.session) return;
    setSyncing(true);
    try {
      const result = await boot.queue.sync(api.session.user.tenantId, postSale, api.session.user);
      if (result.synced || result.conflicts) {
        notify(
          result.conflicts ? 'error' : 'success',
          `Offline sales sent: ${result.synced} booked${result.conflicts ? `, ${result.conflicts} need a manager (see Offline queue)` : ''}.`,
        );
      }
      if (result.stoppedBy && onlineRef.current) notify('info', `Some offline sales are still waiting: ${result.stoppedBy}`);
      // Once per login and count: the auto-sync must not keep replacing other notices with it.
      const waitingKey = `${api.session.user.id}:${result.othersWaiting}`;
      if (result.othersWaiting && waitingNoticeShown.current !== waitingKey) {
        waitingNoticeShown.current = waitingKey;
        notify('info', `${result.othersWaiting} offline sale(s) rung up by another cashier wait for that cashier or a manager to log in here.`);
      }
    } catch (err) {
      notify('error', `Offline sales could not be sent: ${(err as Error).message}`);
    } finally {
      setSyncing(false);
      await refreshQueueInfo();
    }
  }, [api, boot, notify, postSale, refreshQueueInfo]);

  // Connection: the browser's online/offline events plus what each request saw. While offline, a
  // cheap probe of the gateway every few seconds notices when it is back; then the queue is sent.
  useEffect(() => {
    const up = () => setReachable(true);
    const down = () => setReachable(false);
    window.addEventListener('online', up);
    window.addEventListener('offline', down);
    return () => {
      window.removeEventListener('online', up);
      window.removeEventListener('offline', down);
    };
  }, [setReachable]);

  useEffect(() => {
    if (online) return;
    const timer = setInterval(() => {
      fetch('/ready', { method: 'HEAD', cache: 'no-store' }).then(
        () => setReachable(true),
        () => undefined,
      );
    }, 4_000);
    return () => clearInterval(timer);
  }, [online, setReachable]);

  useEffect(() => {
    if (online && session && boot) void syncNow();
    // syncNow changes with the queue counters; only a change of connection or login triggers here.
  }, [online, session, boot]);

  useEffect(() => {
    if (!online || !session || !boot || !queueInfo.pending) return;
    const timer = setInterval(() => void syncNow(), 20_000);
    return () => clearInterval(timer);
  }, [online, session, boot, queueInfo.pending, syncNow]);

  const afterLogin = async (s: Session, preferredStoreId?: string) => {
    setEnded(null);
    const me = await api.get<Me>('/api/v1/auth/me');
    const stores = me.stores.map((st) => ({ id: st.id, name: st.name, currency: st.currency, timezone: st.timezone, taxInclusive: st.taxInclusive, allowNegativeStock: st.allowNegativeStock }));
    const storeId = [preferredStoreId, terminal.storeId].find((id) => id && stores.some((st) => st.id === id)) ?? stores[0]?.id;
    setTerminal({ ...terminal, tenantId: me.tenant.id, tenantName: me.tenant.name, stores, storeId });
    // The shift the user left open here (a reload, or a PIN login later in the day) carries on.
    let open: Shift | undefined;
    if (storeId) {
      const shifts = await api.get<{ data: Shift[] }>(`/api/v1/shifts?storeId=${storeId}&status=open&mine=true&limit=1`);
      open = shifts.data[0];
    }
    setShift(open);
    setView('sell');
    setReceipt(null);
    setSession(s);
    if (boot) {
      boot.catalog.refresh(me.tenant.id).catch((err: unknown) => notify('error', `The catalog could not be cached for offline sales: ${(err as Error).message}`));
    }
  };

  const logout = async () => {
    await api.logout();
    setShift(undefined);
    setSession(null);
    setReceipt(null);
    setNotice(null);
  };

  if (bootError) return <main class="boot"><p role="alert">{bootError}</p></main>;
  if (!boot) return <main class="boot">Starting the register…</main>;

  if (!session) {
    return <Login api={api} terminal={terminal} message={ended} onLoggedIn={afterLogin} />;
  }

  const store = terminal.stores?.find((s) => s.id === terminal.storeId) ?? terminal.stores?.[0];
  if (!store) {
    return (
      <main class="boot">
        <p role="alert">You have no store to sell in. Ask an owner to give you a store.</p>
        <button type="button" onClick={() => void logout()}>
          Log out
        </button>
      </main>
    );
  }

  const isManager = session.user.role === 'owner' || session.user.role === 'manager';
  const ctx: Ctx = {
    api,
    catalog: boot.catalog,
    queue: boot.queue,
    session,
    terminal,
    store,
    shift,
    online,
    isManager,
    notify,
    setShift,
    showReceipt: (r) => {
      setReceipt(r);
      setView('receipt');
    },
    go: setView,
    queueChanged: () => void refreshQueueInfo(),
    syncNow,
  };

  const current = view === 'receipt' && !receipt ? 'sell' : view;

  return (
    <div class="shell">
      <header class="topbar no-print">
        <div class="brand">
          <strong>Cloud POS</strong>
          <span class="muted">
            {store.name} · {session.user.name} ({session.user.role})
          </span>
        </div>
        <div class={`conn ${online ? 'conn-on' : 'conn-off'}`} role="status" aria-live="polite" data-testid="connection">
          {online ? 'Online' : 'Offline — cash sales are queued'}
          {queueInfo.pending > 0 && ` · ${queueInfo.pending} to send${syncing ? ' (sending…)' : ''}`}
          {queueInfo.waiting > 0 && ` · ${queueInfo.waiting} for another cashier`}
          {queueInfo.conflicts > 0 && ` · ${queueInfo.conflicts} conflict${queueInfo.conflicts > 1 ? 's' : ''}`}
        </div>
        <div class="shiftinfo muted">{shift ? `Shift open since ${new Date(shift.openedAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}` : 'No open shift'}</div>
        <button type="button" class="btn-quiet" onClick={() => void logout()}>
          Log out
        </button>
      </header>
      <nav class="tabs no-print" aria-label="Screens">
        {NAV.filter((n) => !n.manager || isManager).map((n) => (
          <button
            type="button"
            key={n.view}
            class={current === n.view || (current === 'receipt' && n.view === 'sell') ? 'tab active' : 'tab'}
            aria-current={current === n.view ? 'page' : undefined}
            onClick={() => setView(n.view)}
          >
            {n.label}
            {n.view === 'queue' && queueInfo.pending + queueInfo.conflicts > 0 ? <span class="badge">{queueInfo.pending + queueInfo.conflicts}</span> : null}
          </button>
        ))}
      </nav>
      {notice && (
        <div class={`notice notice-${notice.kind} no-print`} role={notice.kind === 'error' ? 'alert' : 'status'} data-testid="notice">
          <span>{notice.text}</span>
          <button type="button" class="btn-quiet" aria-label="Dismiss message" onClick={() => setNotice(null)}>
            ×
          </button>
        </div>
      )}
      <main class="content" id="main">
        {current === 'sell' && <Sell ctx={ctx} />}
        {current === 'receipt' && receipt && <Receipt ctx={ctx} receipt={receipt} onNewSale={() => setView('sell')} />}
        {current === 'shift' && <ShiftScreen ctx={ctx} />}
        {current === 'queue' && <QueueScreen ctx={ctx} syncing={syncing} />}
        {current === 'refunds' && isManager && <Refunds ctx={ctx} />}
        {current === 'reports' && isManager && <Reports ctx={ctx} />}
        {current === 'stock' && isManager && <LowStock ctx={ctx} />}
        {current === 'live' && isManager && <LiveFeed ctx={ctx} />}
      </main>
    </div>
  );
}

