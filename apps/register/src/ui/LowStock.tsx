import { useEffect, useState } from 'preact/hooks';
import type { Product } from '../catalog';
import { describeError } from '../messages';
import type { Ctx } from './context';

interface Level {
  id: string;
  productId: string;
  onHand: number;
  reorderPoint: number;
}

/** Manager: products at or below their reorder point at this store. */
export function LowStock({ ctx }: { ctx: Ctx }) {
  const { api, store } = ctx;
  const [levels, setLevels] = useState<Level[] | null>(null);
  const [products, setProducts] = useState<Map<string, Product>>(new Map());
  const [error, setError] = useState<string | null>(null);

  const load = async () => {
    setError(null);
    try {
      const page = await api.get<{ data: Level[] }>(`/api/v1/inventory?lowStock=true&storeId=${store.id}&limit=200`);
      const ids = [...new Set(page.data.map((l) => l.productId))];
      const names = await ctx.catalog.cached(ids);
      const missing = ids.filter((id) => !names.has(id));
      for (let i = 0; i < missing.length; i += 100) {
        const chunk = await api.get<{ data: Product[] }>(`/api/v1/products?limit=100&ids=${missing.slice(i, i + 100).join(',')}`);
        for (const p of chunk.data) names.set(p.id, p);
      }
      setProducts(names);
      setLevels([...page.data].sort((a, b) => a.onHand - a.reorderPoint - (b.onHand - b.reorderPoint)));
    } catch (err) {
      setError(describeError(err));
    }
  };
  useEffect(() => void load(), [store.id]);

  return (
    <section class="card" aria-labelledby="low-title">
      <div class="row spread">
        <h2 id="low-title">Low stock at {store.name}</h2>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {levels && levels.length === 0 && <p>Nothing is below its reorder point.</p>}
      {levels && levels.length > 0 && (
        <table class="list" data-testid="low-stock">
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col">SKU</th>
              <th scope="col" class="num">
                On hand
              </th>
              <th scope="col" class="num">
                Reorder point
              </th>
            </tr>
          </thead>
          <tbody>
            {levels.map((l) => {
              const p = products.get(l.productId);
              return (
                <tr key={l.id} class={l.onHand <= 0 ? 'out' : ''}>
                  <th scope="row">{p?.name ?? l.productId}</th>
                  <td>{p?.sku ?? ''}</td>
                  <td class="num">{l.onHand}</td>
                  <td class="num">{l.reorderPoint}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
