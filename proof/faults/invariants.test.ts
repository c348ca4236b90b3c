// The invariant checker on fabricated states: a consistent state passes, and each invariant fails
// on a state broken in the way it guards against (so no check of the fault suite is vacuous).
// Pure and fast: runs in `npm test` as well as in `npm run test:faults`.
import { checkInvariants, INVARIANTS, type Snapshot } from './support/invariants';
import type { KeyOutcome } from './support/load';

const SALE = '11111111-1111-4111-8111-111111111111';
const FAILED = '22222222-2222-4222-8222-222222222222';
const EVENT = '33333333-3333-4333-8333-333333333333';
const CUSTOMER = '44444444-4444-4444-8444-444444444444';

function client(key: string, statuses: number[], extra: Partial<KeyOutcome> = {}): KeyOutcome {
  return {
    key,
    tender: 'card',
    customerId: null,
    attempts: statuses.map((status, i) => ({ status, at: i })),
    finalStatus: statuses[statuses.length - 1]!,
    succeeded: statuses.some((s) => s === 201),
    ...extra,
  };
}

/** A completed card + cash sale with a customer, and a declined sale fully compensated. */
function consistent(): Snapshot {
  return {
    sales: [
      { id: SALE, key: 'k-ok', status: 'completed', total: 2500, customerId: CUSTOMER },
      { id: FAILED, key: 'k-declined', status: 'failed', total: 1800, customerId: null },
    ],
    reservations: [
      { saleId: SALE, status: 'reserved' },
      { saleId: FAILED, status: 'released' },
    ],
    saleMovements: [
      { saleId: SALE, kind: 'sale', quantity: -4, count: 3 },
      { saleId: FAILED, kind: 'sale', quantity: -3, count: 3 },
      { saleId: FAILED, kind: 'sale_release', quantity: 3, count: 3 },
    ],
    lineQuantities: [
      { saleId: SALE, quantity: 4 },
      { saleId: FAILED, quantity: 3 },
    ],
    payments: [
      { transactionId: SALE, key: `${SALE}:tender:0`, status: 'captured', amount: 500 },
      { transactionId: SALE, key: `${SALE}:tender:1`, status: 'captured', amount: 2000 },
      { transactionId: FAILED, key: `${FAILED}:tender:0`, status: 'declined', amount: 500 },
    ],
    levels: [{ levelId: 'l1', productId: 'p1', onHand: 6, movements: 6, allowNegative: false }],
    saleCompletedEvents: [{ eventId: EVENT, saleId: SALE, published: true }],
    inbox: { loyalty: [EVENT], analytics: [EVENT], audit: [EVENT], notifications: [EVENT] },
    analyticsDocs: [{ eventId: EVENT, count: 1 }],
    auditDocs: [{ eventId: EVENT, count: 1 }],
    loyalty: [{ saleId: SALE, historyRows: 1, earnEntries: 1, pointsEarned: 25 }],
    receipts: [{ eventId: EVENT, deliveryId: 'd1', status: 'sent', received: 1 }],
    receiptsExpected: true,
    clients: [client('k-ok', [0, 503, 201], { saleId: SALE, total: 2500 }), client('k-declined', [402])],
  };
}

const broken: Record<(typeof INVARIANTS)[number], (s: Snapshot) => void> = {
  'no pending sale remains': (s) => void (s.sales[1]!.status = 'pending'),
  'a completed sale has exactly one stock reservation': (s) => void (s.saleMovements[0]!.quantity = -8),
  'captured tenders equal the total of a completed sale': (s) => void (s.payments[1]!.amount = 1999),
  'a failed sale holds no stock and no money': (s) => void s.saleMovements.pop(),
  'no money is captured outside a completed sale': (s) => void s.payments.push({ transactionId: '55555555-5555-4555-8555-555555555555', key: 'x:tender:0', status: 'captured', amount: 100 }),
  'on-hand equals the sum of movements': (s) => void (s.levels[0]!.onHand = 7),
  'no stock below zero where negative stock is denied': (s) => void Object.assign(s.levels[0]!, { onHand: -1, movements: -1 }),
  'one sale.completed per completed sale, published': (s) => void s.saleCompletedEvents.push({ eventId: 'e2', saleId: SALE, published: true }),
  'sale.completed reached loyalty exactly once': (s) => void (s.loyalty[0]!.earnEntries = 2),
  'sale.completed reached analytics exactly once': (s) => void (s.analyticsDocs[0]!.count = 2),
  'sale.completed reached audit exactly once': (s) => void (s.inbox.audit = []),
  'receipt emails were delivered': (s) => void (s.receipts[0]!.received = 0),
  'clients only got answers they can act on': (s) => void s.clients.push(client('k-500', [500])),
  'no lost success': (s) => void s.clients.push(client('k-lost', [503, 201], { saleId: FAILED })),
  'no sale completed behind a refusal': (s) => void (s.clients[1]!.finalStatus = 409),
};

describe('fault-suite invariants', () => {
  test('when the state is consistent, then no invariant is violated', () => {
    expect(checkInvariants(consistent())).toEqual([]);
  });

  test.each(INVARIANTS.map((name) => [name]))('when the state breaks "%s", then that invariant is reported', (name) => {
    const s = consistent();
    if (name === 'no sale completed behind a refusal') s.sales[1]!.status = 'completed';
    broken[name](s);
    const violated = new Set(checkInvariants(s).map((v) => v.invariant));
    expect(violated.has(name)).toBe(true);
  });

  test('when a register gave up on a key still answered 409 sale_in_progress, then that is not an answer it could act on', () => {
    const s = consistent();
    s.clients.push(client('k-stuck', [503, 409, 409], { finalCode: 'sale_in_progress' }));
    expect(checkInvariants(s)).toEqual([expect.objectContaining({ invariant: 'clients only got answers they can act on' })]);
  });

  test('when a completed sale never reached any consumer, then loyalty, analytics and audit are all reported', () => {
    const s = consistent();
    s.inbox = { loyalty: [], analytics: [], audit: [], notifications: [] };
    s.analyticsDocs = [];
    s.auditDocs = [];
    const violated = new Set(checkInvariants(s).map((v) => v.invariant));
    expect([...violated].sort()).toEqual(['receipt emails were delivered', 'sale.completed reached analytics exactly once', 'sale.completed reached audit exactly once', 'sale.completed reached loyalty exactly once']);
  });
});
