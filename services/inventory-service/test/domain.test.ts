import { crossedReorderPoint, mergeLines, planChanges } from '../src/domain/stock-rules';
import { crossRowErrors, parseDecimalMoney, parseImport, validateRow, type RowError } from '../src/domain/import-rows';

describe('stock rules', () => {
  it('when lines repeat a product, then their quantities are merged', () => {
    expect([...mergeLines([{ productId: 'a', quantity: 1 }, { productId: 'b', quantity: 2 }, { productId: 'a', quantity: 3 }])]).toEqual([
      ['a', 4],
      ['b', 2],
    ]);
  });

  it('when a decrease would go below zero and negative stock is denied, then it is a shortage; allowed, it goes negative', () => {
    const levels = new Map([['a', { productId: 'a', onHand: 1, reorderPoint: 0 }]]);
    expect(planChanges(levels, new Map([['a', -3]]), false)).toEqual({ changes: [], shortages: [{ productId: 'a', requested: 3, available: 1 }] });
    expect(planChanges(levels, new Map([['a', -3]]), true).changes[0]).toMatchObject({ before: 1, after: -2 });
    expect(planChanges(new Map(), new Map([['z', -1]]), false).shortages).toEqual([{ productId: 'z', requested: 1, available: 0 }]);
  });

  it('when on-hand goes from above the reorder point to at or below it, then that is a crossing; staying low is not', () => {
    expect(crossedReorderPoint(6, 5, 5)).toBe(true);
    expect(crossedReorderPoint(5, 4, 5)).toBe(false);
    expect(crossedReorderPoint(10, 2, 0)).toBe(false);
    expect(crossedReorderPoint(3, 8, 5)).toBe(false);
  });
});

describe('import rows', () => {
  it('when decimal prices are read, then minor units are exact for the currency and never rounded', () => {
    expect(parseDecimalMoney('12.99', 'USD')).toBe(1299);
    expect(parseDecimalMoney('0.1', 'USD')).toBe(10);
    expect(parseDecimalMoney('1200', 'JPY')).toBe(1200);
    expect(parseDecimalMoney('1.234', 'KWD')).toBe(1234);
    expect(parseDecimalMoney('19.999', 'USD')).toMatch(/more than 2 decimal/);
    expect(parseDecimalMoney('1e3', 'USD')).toMatch(/decimal/);
    expect(parseDecimalMoney('-1', 'USD')).toMatch(/non-negative/);
  });

  it('when a row has several problems, then each is reported with its line and field', () => {
    const errors: RowError[] = [];
    expect(validateRow({ sku: '', name: 'x', price: 'abc', currency: 'US', taxRateBps: '12.5', active: 'maybe' }, 7, errors)).toBeUndefined();
    expect(errors.map((e) => `${e.line}:${e.field}`)).toEqual(['7:sku', '7:currency', '7:price', '7:taxRateBps', '7:active']);
  });

  it('when two rows share a SKU or a barcode, then the later row is reported', () => {
    const row = (line: number, sku: string, barcodes: string[]) => ({ line, sku, name: 'n', description: null, price: { amount: 1, currency: 'USD' }, cost: null, taxRateBps: 0, barcodes, categoryId: null, active: true });
    expect(crossRowErrors([row(2, 'A', ['1']), row(3, 'A', []), row(4, 'B', ['1'])])).toEqual([
      { line: 3, field: 'sku', reason: 'repeats the SKU of line 2' },
      { line: 4, field: 'barcodes', reason: 'barcode 1 is also on line 2' },
    ]);
  });

  it('when CSV has quoted commas and a BOM, then cells are read correctly with file line numbers', () => {
    const parsed = parseImport('\uFEFFsku,name,price,currency,tax_rate_bps\n\nA-1,"Tea, green",1.50,USD,0\n', 'text/csv', 10);
    expect(parsed.errors).toEqual([]);
    expect(parsed.rows[0]).toMatchObject({ line: 3, sku: 'A-1', name: 'Tea, green', price: { amount: 150, currency: 'USD' } });
  });
});
