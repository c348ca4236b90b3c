/**
 * The register's IndexedDB: the cached catalog (to sell offline) and the offline sales queue.
 * A thin promise wrapper; the factory is injectable so tests can use fake-indexeddb.
 */

export const DB_NAME = 'cloud-pos-register';
const DB_VERSION = 1;

export type StoreName = 'products' | 'queue' | 'meta';

export function openDb(factory: IDBFactory = indexedDB, name = DB_NAME): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = factory.open(name, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains('products')) {
        const products = db.createObjectStore('products', { keyPath: 'id' });
        products.createIndex('barcodes', 'barcodes', { multiEntry: true });
        products.createIndex('sku', 'sku');
      }
      if (!db.objectStoreNames.contains('queue')) {
        const queue = db.createObjectStore('queue', { keyPath: 'key' });
        queue.createIndex('createdAt', 'createdAt');
      }
      if (!db.objectStoreNames.contains('meta')) db.createObjectStore('meta', { keyPath: 'k' });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('The register database is blocked by another tab'));
  });
}

function done<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function committed(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
  });
}

export class Db {
  constructor(readonly db: IDBDatabase) {}

  async get<T>(store: StoreName, key: IDBValidKey): Promise<T | undefined> {
    return done(this.db.transaction(store).objectStore(store).get(key)) as Promise<T | undefined>;
  }

  async getAll<T>(store: StoreName): Promise<T[]> {
    return done(this.db.transaction(store).objectStore(store).getAll()) as Promise<T[]>;
  }

  async byIndex<T>(store: StoreName, index: string, key: IDBValidKey): Promise<T | undefined> {
    return done(this.db.transaction(store).objectStore(store).index(index).get(key)) as Promise<T | undefined>;
  }

  async put(store: StoreName, value: unknown): Promise<void> {
    const tx = this.db.transaction(store, 'readwrite');
    tx.objectStore(store).put(value);
    await committed(tx);
  }

  async delete(store: StoreName, key: IDBValidKey): Promise<void> {
    const tx = this.db.transaction(store, 'readwrite');
    tx.objectStore(store).delete(key);
    await committed(tx);
  }

  /** Replaces a store's whole content in one transaction (never half old, half new). */
  async replaceAll(store: StoreName, values: unknown[]): Promise<void> {
    const tx = this.db.transaction(store, 'readwrite');
    const os = tx.objectStore(store);
    os.clear();
    for (const v of values) os.put(v);
    await committed(tx);
  }

  /** Read-modify-write of one record inside one transaction. */
  async update<T>(store: StoreName, key: IDBValidKey, change: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    const tx = this.db.transaction(store, 'readwrite');
    const os = tx.objectStore(store);
    const current = (await done(os.get(key))) as T | undefined;
    const next = change(current);
    if (next !== undefined) os.put(next);
    await committed(tx);
    return next;
  }
}
