import { badRequest } from '@pos/utils';

/** Opaque keyset cursors: base64url JSON of the last row's sort key. */
export function encodeCursor(key: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<K extends string>(cursor: string | undefined, keys: readonly K[]): Record<K, string> | undefined {
  if (!cursor) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    const out = {} as Record<K, string>;
    for (const k of keys) {
      const v = parsed[k];
      if (typeof v !== 'string' && typeof v !== 'number') throw new Error('missing key');
      out[k] = String(v);
    }
    return out;
  } catch {
    throw badRequest('The cursor is not valid', [{ path: 'cursor', message: 'is not a cursor returned by this list' }]);
  }
}

/**
 * One page of a keyset list read with `limit + 1` rows: the rows to answer with, and the cursor of the
 * next page (null when the extra row was not there).
 */
export function pageOf<R>(rows: R[], limit: number, cursorKey: (last: R) => Record<string, string | number>): { page: R[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { page, nextCursor: rows.length > limit && last ? encodeCursor(cursorKey(last)) : null };
}
