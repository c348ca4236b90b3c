import { createHash } from 'node:crypto';
import { MongoServerError, ObjectId, type Collection, type Document } from 'mongodb';

/**
 * The `_id` of the fact written for an event: an ObjectId made of the first 24 hex digits of
 * sha1(eventId) (POS-DESIGN §11). Deterministic, so a redelivered event addresses the same document;
 * an ObjectId, because the in-process stand-in does not support string ids.
 */
export function factId(eventId: string): ObjectId {
  return new ObjectId(createHash('sha1').update(eventId).digest('hex').slice(0, 24));
}

export type FactWrite = 'inserted' | 'duplicate';

/**
 * Writes one fact per event: upsert on the event's `_id` with `$setOnInsert`, so a redelivered event
 * changes nothing, even where unique indexes are not enforced. The document also records `eventId`.
 */
export async function upsertFact<T extends Document>(collection: Collection<T>, eventId: string, doc: Omit<T, '_id'>): Promise<FactWrite> {
  const _id = factId(eventId);
  try {
    const res = await (collection as unknown as Collection<Document>).updateOne(
      { _id },
      { $setOnInsert: { ...(doc as Document), eventId } },
      { upsert: true },
    );
    return res.upsertedCount === 1 ? 'inserted' : 'duplicate';
  } catch (err) {
    // Two replicas upserting the same new fact at once: one insert wins, the other is a duplicate.
    if (err instanceof MongoServerError && err.code === 11000) return 'duplicate';
    throw err;
  }
}

/** An opaque list cursor: the sort key and id of the last document returned. */
export function encodeCursor(at: Date, id: ObjectId): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id.toHexString()])).toString('base64url');
}

export function decodeCursor(cursor: string): { at: Date; id: ObjectId } | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length !== 2) return undefined;
    const [at, id] = parsed as [unknown, unknown];
    if (typeof at !== 'string' || typeof id !== 'string' || !ObjectId.isValid(id) || id.length !== 24) return undefined;
    const date = new Date(at);
    if (Number.isNaN(date.getTime())) return undefined;
    return { at: date, id: new ObjectId(id) };
  } catch {
    return undefined;
  }
}
