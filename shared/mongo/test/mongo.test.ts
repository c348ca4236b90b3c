import { createHash, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import winston from 'winston';
import { isTransientError } from '@pos/events';
import { ConfigError, createLogger } from '@pos/utils';
import {
  MongoLogTransport,
  MongoUnavailableError,
  closeLogTransports,
  connectMongo,
  createServiceLogger,
  decodeCursor,
  encodeCursor,
  factId,
  logTransports,
  startMongoStandIn,
  upsertFact,
  withMongoOutage,
  type MongoHandle,
} from '@pos/mongo';
import { TcpProxy } from './tcp-proxy';

const uri = () => process.env.MONGODB_URI!;

describe('@pos/mongo', () => {
  const dbName = `test_mongo_${randomUUID().slice(0, 8)}`;
  let mongo: MongoHandle;

  beforeAll(() => {
    mongo = connectMongo(uri(), dbName);
  });
  afterAll(async () => {
    await mongo.db.dropDatabase().catch(() => undefined);
    await mongo.close();
  });

  it('when an event id becomes a fact id, then it is the ObjectId of the first 24 hex digits of its sha1, the same every time', () => {
    const id = randomUUID();
    expect(factId(id).toHexString()).toBe(createHash('sha1').update(id).digest('hex').slice(0, 24));
    expect(factId(id).equals(factId(id))).toBe(true);
    expect(factId(id).equals(factId(randomUUID()))).toBe(false);
  });

  it('when the same event is written twice, then one fact is stored and the second write changes nothing', async () => {
    const facts = mongo.db.collection<{ n: number; at: Date }>('facts');
    const eventId = randomUUID();
    const at = new Date('2025-03-01T10:00:00Z');
    expect(await upsertFact(facts, eventId, { n: 1, at })).toBe('inserted');
    expect(await upsertFact(facts, eventId, { n: 2, at: new Date() })).toBe('duplicate');
    const docs = await facts.find({ eventId }).toArray();
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ _id: factId(eventId), eventId, n: 1 });
    // Dates stay dates (the stand-in runs on memory storage).
    expect(docs[0]!.at).toBeInstanceOf(Date);
    expect(docs[0]!.at.toISOString()).toBe(at.toISOString());
  });

  it('when a list cursor is encoded, then it decodes to the same position and junk decodes to nothing', () => {
    const id = factId(randomUUID());
    const at = new Date();
    expect(decodeCursor(encodeCursor(at, id))).toEqual({ at, id });
    expect(decodeCursor('not-a-cursor')).toBeUndefined();
    expect(decodeCursor(Buffer.from('["x","y"]').toString('base64url'))).toBeUndefined();
  });

  describe('when the connection to MongoDB is cut', () => {
    let proxy: TcpProxy;
    let viaProxy: MongoHandle;
    beforeAll(async () => {
      proxy = await TcpProxy.forUri(uri()).start();
      viaProxy = connectMongo(proxy.uri(), dbName, { serverSelectionTimeoutMS: 500, socketTimeoutMS: 2_000 });
    });
    afterAll(async () => {
      await viaProxy.close();
      await proxy.close();
    });

    it('then an operation fails fast as an outage that the event consumer retries, and the same client works again when it is back', async () => {
      const facts = viaProxy.db.collection('outage_facts');
      await upsertFact(facts, randomUUID(), { before: true });
      proxy.pause();
      const started = Date.now();
      const err = await withMongoOutage('test write', () => upsertFact(facts, randomUUID(), { during: true })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MongoUnavailableError);
      expect(isTransientError(err)).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000);
      proxy.resume();
      const eventId = randomUUID();
      await expect(withMongoOutage('test write', () => upsertFact(facts, eventId, { after: true }))).resolves.toBe('inserted');
      expect(await mongo.db.collection('outage_facts').countDocuments({ eventId })).toBe(1);
    });

    it('then a service that started while MongoDB was down connects by itself once it is back (no restart)', async () => {
      const second = await TcpProxy.forUri(uri()).start();
      second.pause();
      const late = connectMongo(second.uri(), dbName, { serverSelectionTimeoutMS: 300 });
      try {
        await expect(withMongoOutage('early write', () => late.db.collection('late').insertOne({ early: true }))).rejects.toBeInstanceOf(MongoUnavailableError);
        second.resume();
        await waitUntil(async () => {
          try {
            await late.db.collection('late').insertOne({ late: true });
            return true;
          } catch {
            return false;
          }
        }, 10_000);
      } finally {
        await late.close();
        await second.close();
      }
    });

    it('then a non-outage error is passed through unchanged', async () => {
      const boom = new Error('bad document');
      await expect(withMongoOutage('x', () => Promise.reject(boom))).rejects.toBe(boom);
    });
  });

  describe('the system_logs transport (LOG_TO_MONGO)', () => {
    it('when it is off, then the logger keeps its default transports only', () => {
      expect(logTransports({ enabled: false, db: mongo.db })).toBeUndefined();
      const transports = logTransports({ enabled: true, db: mongo.db })!;
      expect(transports.map((t) => t.constructor.name)).toEqual(['Console', 'MongoLogTransport']);
      for (const t of transports) if (t instanceof MongoLogTransport) void t.closeAsync();
    });

    it('when a service builds its logger from config, then LOG_TO_MONGO decides, MONGODB_URI is required with it, and close() flushes the lines', async () => {
      const off = createServiceLogger('svc-off', { LOG_LEVEL: 'info', LOG_TO_MONGO: false, MONGODB_DB: dbName });
      expect(off.logger.transports.map((t) => t.constructor.name)).toEqual(['Console']);
      await off.close();
      expect(() => createServiceLogger('svc-no-uri', { LOG_LEVEL: 'info', LOG_TO_MONGO: true, MONGODB_DB: dbName })).toThrow(ConfigError);

      const on = createServiceLogger('svc-on', { LOG_LEVEL: 'info', LOG_TO_MONGO: true, MONGODB_URI: uri(), MONGODB_DB: dbName });
      for (const t of on.logger.transports) t.silent = t.constructor.name === 'Console';
      const marker = randomUUID();
      on.logger.info('shift closed', { marker });
      on.logger.warn('drawer short', { marker });
      await on.close();
      const docs = await mongo.db.collection('system_logs').find({ 'meta.marker': marker }).toArray();
      expect(docs.map((d) => `${d.service} ${d.level} ${d.message}`).sort()).toEqual(['svc-on info shift closed', 'svc-on warn drawer short']);
    });

    it('when a service logs with it on, then the lines reach system_logs in batches, redacted, with their request context', async () => {
      const sink = new Writable({ write: (_c, _e, cb) => cb() });
      const transport = new MongoLogTransport({ db: mongo.db, collection: 'logs_a', batchSize: 3, flushIntervalMs: 50 });
      const logger = createLogger({ service: 'test-service', level: 'info', transports: [new winston.transports.Stream({ stream: sink }), transport] });
      const marker = randomUUID();
      for (let i = 0; i < 7; i++) logger.info('order placed', { marker, i, password: 'hunter2', card: '4111 1111 1111 1111', requestId: `req-${i}` });
      logger.debug('not at this level', { marker });
      await closeLogTransports(logger);
      const docs = await mongo.db.collection('logs_a').find({ 'meta.marker': marker }).sort({ 'meta.i': 1 }).toArray();
      expect(docs).toHaveLength(7);
      expect(docs[0]).toMatchObject({ level: 'info', message: 'order placed', service: 'test-service', requestId: 'req-0', meta: { i: 0, password: '[REDACTED]' } });
      expect(docs[0]!.at).toBeInstanceOf(Date);
      expect(JSON.stringify(docs)).not.toMatch(/hunter2|4111 1111 1111 1111/);
      expect(transport.written).toBe(7);
    });

    it('when MongoDB is down, then logging neither throws nor waits, and the buffered lines arrive once it is back', async () => {
      const proxy = await TcpProxy.forUri(uri()).start();
      const viaProxy = connectMongo(proxy.uri(), dbName, { serverSelectionTimeoutMS: 300 });
      const errors: string[] = [];
      const transport = new MongoLogTransport({ db: viaProxy.db, collection: 'logs_b', batchSize: 100, flushIntervalMs: 50, reportEveryMs: 0, onWriteError: (e) => errors.push(e.message) });
      const logger = winston.createLogger({ transports: [transport] });
      try {
        proxy.pause();
        const marker = randomUUID();
        const started = Date.now();
        for (let i = 0; i < 50; i++) logger.info('while down', { marker, i });
        expect(Date.now() - started).toBeLessThan(1_000);
        await waitUntil(() => errors.length > 0);
        expect(await mongo.db.collection('logs_b').countDocuments({ 'meta.marker': marker })).toBe(0);
        expect(transport.buffered).toBe(50);
        proxy.resume();
        await waitUntil(async () => (await mongo.db.collection('logs_b').countDocuments({ 'meta.marker': marker })) === 50, 10_000);
        expect(transport.dropped).toBe(0);
      } finally {
        await transport.closeAsync();
        await viaProxy.close();
        await proxy.close();
      }
    });

    it('when MongoDB stays down past the buffer limit, then the oldest lines are dropped and counted, never an error', async () => {
      const proxy = await TcpProxy.forUri(uri()).start();
      proxy.pause();
      const viaProxy = connectMongo(proxy.uri(), dbName, { serverSelectionTimeoutMS: 200 });
      const transport = new MongoLogTransport({ db: viaProxy.db, collection: 'logs_c', maxBuffered: 10, flushIntervalMs: 60_000, onWriteError: () => undefined });
      const logger = winston.createLogger({ transports: [transport] });
      for (let i = 0; i < 25; i++) logger.info('line', { i });
      expect(transport.buffered).toBe(10);
      expect(transport.dropped).toBe(15);
      await transport.closeAsync(500);
      await viaProxy.close();
      await proxy.close();
    });
  });

  it('when the stand-in is started by the helper, then it answers on its URI and stops on request', async () => {
    const standIn = await startMongoStandIn();
    const m = connectMongo(standIn.uri, 'helper_check');
    try {
      await m.ping();
      await m.db.collection('x').insertOne({ ok: true });
      expect(await m.db.collection('x').countDocuments()).toBe(1);
    } finally {
      await m.close();
      await standIn.stop();
    }
    const after = connectMongo(standIn.uri, 'helper_check', { serverSelectionTimeoutMS: 300 });
    await expect(after.ping()).rejects.toThrow();
    await after.close();
  });
});

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}
