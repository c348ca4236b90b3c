/**
 * What this terminal remembers between sessions (localStorage): which tenant and store it is set up
 * for (so a cashier can log in with a PIN), the store settings needed to price offline, and a
 * terminal id. The open shift is kept per session (sessionStorage) so a reload offline still sells.
 */
import { newKey } from './api';

export interface StoreInfo {
  id: string;
  name: string;
  currency: string;
  timezone: string;
  taxInclusive: boolean;
  allowNegativeStock: boolean;
}

export interface TerminalConfig {
  terminalId: string;
  tenantId?: string;
  tenantName?: string;
  storeId?: string;
  stores?: StoreInfo[];
}

export interface Shift {
  id: string;
  storeId: string;
  status: 'open' | 'closed';
  openingFloat: { amount: number; currency: string };
  openedAt: string;
}

const TERMINAL_KEY = 'pos.terminal';
const SHIFT_KEY = 'pos.shift';

function read<T>(storage: Storage, key: string): T | undefined {
  try {
    const raw = storage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : undefined;
  } catch {
    return undefined;
  }
}

export function loadTerminal(): TerminalConfig {
  const saved = read<TerminalConfig>(localStorage, TERMINAL_KEY);
  if (saved?.terminalId) return saved;
  const fresh = { terminalId: newKey() };
  localStorage.setItem(TERMINAL_KEY, JSON.stringify(fresh));
  return fresh;
}

export function saveTerminal(config: TerminalConfig): void {
  localStorage.setItem(TERMINAL_KEY, JSON.stringify(config));
}

export function loadShift(): Shift | undefined {
  return read<Shift>(sessionStorage, SHIFT_KEY);
}

export function saveShift(shift: Shift | undefined): void {
  if (shift) sessionStorage.setItem(SHIFT_KEY, JSON.stringify(shift));
  else sessionStorage.removeItem(SHIFT_KEY);
}

/** The store-local calendar date (YYYY-MM-DD) of `at` in `timezone`. */
export function localDate(timezone: string, at = new Date()): string {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
  } catch {
    return at.toISOString().slice(0, 10);
  }
}
