import { parse } from 'csv-parse/sync';
import { minorUnits } from '@pos/types';

/** One validated row of a catalog import. */
export interface ImportRow {
  line: number;
  sku: string;
  name: string;
  description: string | null;
  price: { amount: number; currency: string };
  cost: { amount: number; currency: string } | null;
  taxRateBps: number;
  barcodes: string[];
  categoryId: string | null;
  active: boolean;
}

export interface RowError {
  line: number;
  field: string;
  reason: string;
}

const SKU = /^[\x21-\x7E]{1,64}$/;
const BARCODE = /^[0-9A-Za-z\-.]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * "12.99" -> 1299 for USD, "1200" -> 1200 for JPY: decimal text to integer minor units without
 * ever going through a float; more decimals than the currency has is an error, not a rounding.
 */
export function parseDecimalMoney(text: string, currency: string): number | string {
  const match = /^(\d{1,12})(?:\.(\d+))?$/.exec(text.trim());
  if (!match) return 'must be a non-negative decimal such as 12.99';
  const digits = minorUnits(currency);
  const fraction = match[2] ?? '';
  if (fraction.length > digits) return `has more than ${digits} decimal places for ${currency}`;
  return Number(match[1]) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
}

type Raw = Record<string, unknown>;

function field(raw: Raw, ...names: string[]): unknown {
  for (const n of names) if (raw[n] !== undefined && raw[n] !== '') return raw[n];
  return undefined;
}

/** Validates one raw row (from CSV text cells or a JSON object); pushes every problem it finds. */
export function validateRow(raw: Raw, line: number, errors: RowError[]): ImportRow | undefined {
  const before = errors.length;
  const err = (f: string, reason: string) => errors.push({ line, field: f, reason });

  const sku = String(field(raw, 'sku') ?? '').trim();
  if (!SKU.test(sku)) err('sku', sku ? 'must be visible ASCII without spaces, at most 64 characters' : 'is required');
  const name = String(field(raw, 'name') ?? '').trim();
  if (!name) err('name', 'is required');
  else if (name.length > 200) err('name', 'must be at most 200 characters');

  const priceRaw = field(raw, 'price');
  const currency = String(field(raw, 'currency') ?? (typeof priceRaw === 'object' && priceRaw ? (priceRaw as Raw).currency : '') ?? '').trim();
  if (!/^[A-Z]{3}$/.test(currency)) err('currency', 'must be an ISO 4217 code such as USD');
  let price = 0;
  if (typeof priceRaw === 'object' && priceRaw !== null) {
    const amount = (priceRaw as Raw).amount;
    if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0) err('price', 'amount must be a non-negative integer of minor units');
    else price = amount;
  } else if (priceRaw === undefined) {
    err('price', 'is required');
  } else {
    const parsed = parseDecimalMoney(String(priceRaw), currency || 'USD');
    if (typeof parsed === 'string') err('price', parsed);
    else price = parsed;
  }

  let cost: number | null = null;
  const costRaw = field(raw, 'cost');
  if (costRaw !== undefined && costRaw !== null) {
    if (typeof costRaw === 'object') {
      const amount = (costRaw as Raw).amount;
      if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0) err('cost', 'amount must be a non-negative integer of minor units');
      else cost = amount;
    } else {
      const parsed = parseDecimalMoney(String(costRaw), currency || 'USD');
      if (typeof parsed === 'string') err('cost', parsed);
      else cost = parsed;
    }
  }

  const taxRaw = field(raw, 'taxRateBps', 'tax_rate_bps');
  const taxRateBps = typeof taxRaw === 'number' ? taxRaw : Number(String(taxRaw ?? '').trim());
  if (taxRaw === undefined || !Number.isInteger(taxRateBps) || taxRateBps < 0 || taxRateBps > 10_000) err('taxRateBps', 'must be a whole number of basis points from 0 to 10000');

  const barcodesRaw = field(raw, 'barcodes');
  const barcodes = Array.isArray(barcodesRaw)
    ? barcodesRaw.map((b) => String(b).trim())
    : String(barcodesRaw ?? '')
        .split(/[|;]/)
        .map((b) => b.trim())
        .filter(Boolean);
  const badBarcode = barcodes.find((b) => !BARCODE.test(b));
  if (badBarcode !== undefined) err('barcodes', `"${badBarcode.slice(0, 70)}" must be 1-64 letters, digits, dashes or dots`);
  else if (new Set(barcodes).size !== barcodes.length) err('barcodes', 'repeats a barcode');
  else if (barcodes.length > 20) err('barcodes', 'at most 20 barcodes per product');

  const categoryRaw = field(raw, 'categoryId', 'category_id');
  const categoryId = categoryRaw === undefined || categoryRaw === null ? null : String(categoryRaw).trim();
  if (categoryId !== null && !UUID.test(categoryId)) err('categoryId', 'must be a category id (uuid)');

  const activeRaw = field(raw, 'active');
  let active = true;
  if (activeRaw !== undefined) {
    const v = String(activeRaw).trim().toLowerCase();
    if (['true', '1', 'yes'].includes(v)) active = true;
    else if (['false', '0', 'no'].includes(v)) active = false;
    else err('active', 'must be true or false');
  }

  const descriptionRaw = field(raw, 'description');
  const description = descriptionRaw === undefined || descriptionRaw === null ? null : String(descriptionRaw);
  if (description !== null && description.length > 2000) err('description', 'must be at most 2000 characters');

  if (errors.length > before) return undefined;
  return { line, sku, name, description, price: { amount: price, currency }, cost: cost === null ? null : { amount: cost, currency }, taxRateBps, barcodes, categoryId, active };
}

/** Errors that involve several rows of the same file: a SKU or barcode used twice. */
export function crossRowErrors(rows: ImportRow[]): RowError[] {
  const errors: RowError[] = [];
  const skus = new Map<string, number>();
  const barcodes = new Map<string, number>();
  for (const row of rows) {
    const firstSku = skus.get(row.sku);
    if (firstSku !== undefined) errors.push({ line: row.line, field: 'sku', reason: `repeats the SKU of line ${firstSku}` });
    else skus.set(row.sku, row.line);
    for (const b of row.barcodes) {
      const firstBarcode = barcodes.get(b);
      if (firstBarcode !== undefined) errors.push({ line: row.line, field: 'barcodes', reason: `barcode ${b} is also on line ${firstBarcode}` });
      else barcodes.set(b, row.line);
    }
  }
  return errors;
}

export interface ParsedImport {
  rows: ImportRow[];
  errors: RowError[];
  total: number;
}

/** CSV with a header row (line numbers are the file's lines) or a JSON array (line = position, from 1). */
export function parseImport(body: unknown, contentType: string, maxRows: number): ParsedImport {
  const errors: RowError[] = [];
  let records: Array<{ raw: Raw; line: number }>;
  if (contentType.includes('csv') || contentType.startsWith('text/')) {
    let parsed: Array<{ record: Raw; info: { lines: number } }>;
    try {
      parsed = parse(String(body ?? ''), { columns: (header: string[]) => header.map((h) => h.trim()), skip_empty_lines: true, trim: true, info: true, bom: true }) as never;
    } catch (err) {
      const line = Number((err as { lines?: number }).lines ?? 0);
      return { rows: [], errors: [{ line, field: 'csv', reason: (err as Error).message.slice(0, 200) }], total: 0 };
    }
    records = parsed.map((p) => ({ raw: p.record, line: p.info.lines }));
  } else if (Array.isArray(body)) {
    records = body.map((raw, i) => ({ raw: (raw && typeof raw === 'object' ? raw : {}) as Raw, line: i + 1 }));
  } else {
    return { rows: [], errors: [{ line: 0, field: 'body', reason: 'must be CSV (text/csv) or a JSON array of products' }], total: 0 };
  }
  if (records.length === 0) return { rows: [], errors: [{ line: 0, field: 'body', reason: 'has no rows' }], total: 0 };
  if (records.length > maxRows) return { rows: [], errors: [{ line: 0, field: 'body', reason: `has ${records.length} rows; at most ${maxRows} per import` }], total: records.length };
  const rows = records.flatMap(({ raw, line }) => validateRow(raw, line, errors) ?? []);
  errors.push(...crossRowErrors(rows));
  return { rows, errors, total: records.length };
}
