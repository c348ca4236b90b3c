import { ApiError, type Api } from './api';
import type { Db } from './db';

export interface Product {
  id: string;
  sku: string;
  name: string;
  barcodes: string[];
  price: { amount: number; currency: string };
  taxRateBps: number;
  active: boolean;
}

interface Page<T> {
  data: T[];
  nextCursor: string | null;
}

const pick = (p: Product): Product => ({ id: p.id, sku: p.sku, name: p.name, barcodes: p.barcodes, price: p.price, taxRateBps: p.taxRateBps, active: p.active });

/**
 * The catalog at the register: barcode lookups and searches go to the API (fresh prices) and fall
 * back to the copy in IndexedDB when the gateway cannot be reached, so cash sales go on offline.
 */
export class Catalog {
  constructor(
    private readonly api: Api,
    private readonly db: Db,
  ) {}

  /** Downloads every active product into IndexedDB (replacing the old copy). Returns the count. */
  async refresh(tenantId: string): Promise<number> {
    const all: Product[] = [];
    let cursor: string | null = null;
    do {
      const page: Page<Product> = await this.api.get(`/api/v1/products?active=true&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      all.push(...page.data.map(pick));
      cursor = page.nextCursor;
    } while (cursor && all.length < 50_000);
    await this.db.replaceAll('products', all);
    await this.db.put('meta', { k: 'catalog', tenantId, count: all.length, at: new Date().toISOString() });
    return all.length;
  }

  async info(): Promise<{ tenantId: string; count: number; at: string } | undefined> {
    return this.db.get('meta', 'catalog');
  }

  /** The product with this barcode; null when there is none. `offline` says where it came from. */
  async lookup(barcode: string): Promise<{ product: Product | null; offline: boolean }> {
    try {
      const product = pick(await this.api.get<Product>(`/api/v1/products/lookup?barcode=${encodeURIComponent(barcode)}`));
      await this.db.put('products', product).catch(() => undefined);
      return { product, offline: false };
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return { product: null, offline: false };
      if (err instanceof ApiError && err.outcomeUnknown) {
        const cached = await this.db.byIndex<Product>('products', 'barcodes', barcode);
        return { product: cached?.active ? cached : null, offline: true };
      }
      throw err;
    }
  }

  async search(q: string): Promise<{ products: Product[]; offline: boolean }> {
    try {
      const page = await this.api.get<Page<Product>>(`/api/v1/products?active=true&limit=20&q=${encodeURIComponent(q)}`);
      return { products: page.data.map(pick), offline: false };
    } catch (err) {
      if (!(err instanceof ApiError && err.outcomeUnknown)) throw err;
      return { products: await this.searchCached(q), offline: true };
    }
  }

  async searchCached(q: string): Promise<Product[]> {
    const needle = fold(q);
    const all = await this.db.getAll<Product>('products');
    return all.filter((p) => p.active && (fold(p.name).includes(needle) || fold(p.sku).includes(needle) || p.barcodes.includes(q.trim()))).slice(0, 20);
  }

  async cached(ids: string[]): Promise<Map<string, Product>> {
    const out = new Map<string, Product>();
    for (const id of ids) {
      const p = await this.db.get<Product>('products', id);
      if (p) out.set(id, p);
    }
    return out;
  }

  async allCached(): Promise<Product[]> {
    return this.db.getAll<Product>('products');
  }
}

/** Case- and accent-insensitive text for matching ("Café" finds "cafe"). */
export function fold(s: string): string {
  return s.normalize('NFD').replace(/\p{Diacritic}/gu, '').toLowerCase().trim();
}
