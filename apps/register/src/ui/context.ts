import type { Api, Session } from '../api';
import type { Catalog } from '../catalog';
import type { OfflineQueue } from '../offline';
import type { Shift, StoreInfo, TerminalConfig } from '../terminal';
import type { ReceiptView } from '../types';

export type View = 'sell' | 'receipt' | 'shift' | 'queue' | 'refunds' | 'reports' | 'stock' | 'live';

export type Notify = (kind: 'info' | 'success' | 'error', text: string) => void;

/** Everything a screen needs from the register shell. */
export interface Ctx {
  api: Api;
  catalog: Catalog;
  queue: OfflineQueue;
  session: Session;
  terminal: TerminalConfig;
  store: StoreInfo;
  shift: Shift | undefined;
  online: boolean;
  isManager: boolean;
  notify: Notify;
  setShift(shift: Shift | undefined): void;
  showReceipt(receipt: ReceiptView): void;
  go(view: View): void;
  /** Re-reads the offline queue counters (after a sale was queued or synced). */
  queueChanged(): void;
  /** Sends the offline queue now (when online). */
  syncNow(): Promise<void>;
}
