import { useState } from 'preact/hooks';
import { ApiError, type Api, type Session } from '../api';
import { describeError } from '../messages';
import type { TerminalConfig } from '../terminal';

interface Props {
  api: Api;
  terminal: TerminalConfig;
  message: string | null;
  onLoggedIn(session: Session, storeId?: string): Promise<void>;
}

/** Email + password, or a cashier's PIN at this terminal's store. */
export function Login({ api, terminal, message, onLoggedIn }: Props) {
  const paired = Boolean(terminal.tenantId && terminal.stores?.length);
  const [mode, setMode] = useState<'password' | 'pin'>(paired ? 'pin' : 'password');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [pin, setPin] = useState('');
  const [tenantId, setTenantId] = useState(terminal.tenantId ?? '');
  const [storeId, setStoreId] = useState(terminal.storeId ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session =
        mode === 'password' ? await api.login(email.trim(), password) : await api.pinLogin({ tenantId: tenantId.trim(), storeId: storeId.trim(), email: email.trim(), pin });
      await onLoggedIn(session, mode === 'pin' ? storeId.trim() : undefined);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? `Wrong ${mode === 'pin' ? 'email or PIN' : 'email or password'}.` : describeError(err));
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <form class="card login-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Cloud POS register</h1>
        {message && (
          <p class="notice notice-info" role="status">
            {message}
          </p>
        )}
        <div class="segmented" role="group" aria-label="How to log in">
          <button type="button" class={mode === 'password' ? 'seg active' : 'seg'} aria-pressed={mode === 'password'} onClick={() => setMode('password')}>
            Email and password
          </button>
          <button type="button" class={mode === 'pin' ? 'seg active' : 'seg'} aria-pressed={mode === 'pin'} onClick={() => setMode('pin')}>
            Store and PIN
          </button>
        </div>
        <label for="login-email">Email</label>
        <input id="login-email" type="email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        {mode === 'password' ? (
          <>
            <label for="login-password">Password</label>
            <input key="password" id="login-password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          </>
        ) : (
          <>
            {paired ? (
              <>
                <label for="login-store">Store ({terminal.tenantName})</label>
                <select id="login-store" value={storeId} onChange={(e) => setStoreId(e.currentTarget.value)}>
                  {terminal.stores!.map((s) => (
                    <option key={s.id} value={s.id}>
                      {s.name}
                    </option>
                  ))}
                </select>
              </>
            ) : (
              <>
                <p class="muted small">This terminal is not set up for a store yet: log in once with a password, or enter the ids from your owner.</p>
                <label for="login-tenant">Tenant id</label>
                <input id="login-tenant" required value={tenantId} onInput={(e) => setTenantId(e.currentTarget.value)} />
                <label for="login-storeid">Store id</label>
                <input id="login-storeid" required value={storeId} onInput={(e) => setStoreId(e.currentTarget.value)} />
              </>
            )}
            <label for="login-pin">PIN</label>
            <input
              key="pin"
              id="login-pin"
              type="password"
              inputMode="numeric"
              autocomplete="off"
              pattern="\d{4,8}"
              required
              value={pin}
              onInput={(e) => setPin(e.currentTarget.value)}
            />
          </>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="btn-primary btn-block" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}
