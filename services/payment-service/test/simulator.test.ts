import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { ProcessorRejectedError, ProcessorUnavailableError, SimulatorProcessor, simulatorChargeKey } from '../src/processor';

describe('processor simulator (test mode, state in Redis)', () => {
  let redis: Redis;
  let sim: SimulatorProcessor;
  const tenantId = randomUUID();
  const usd = (amount: number) => ({ amount, currency: 'USD' });

  beforeAll(() => {
    redis = new Redis(process.env.REDIS_URL!);
    sim = new SimulatorProcessor(redis, { slowResponseMs: 2_000, ttlSeconds: 600 });
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('when a key is charged twice, then the second call returns the first charge; another amount under the key is refused', async () => {
    const key = randomUUID();
    const first = await sim.charge({ tenantId, key, amount: usd(500), token: 'tok_visa' });
    const again = await sim.charge({ tenantId, key, amount: usd(500), token: 'tok_visa' });
    expect(first).toMatchObject({ outcome: 'approved', brand: 'visa', last4: '4242' });
    expect(again).toEqual(first);
    await expect(sim.charge({ tenantId, key, amount: usd(501), token: 'tok_visa' })).rejects.toBeInstanceOf(ProcessorRejectedError);
    expect(await redis.hget(simulatorChargeKey(tenantId, key), 'calls')).toBe('3');
  });

  it('when tok_timeout is charged, then the first call records the charge but answers late; an aborted caller gets an outage error', async () => {
    const key = randomUUID();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(sim.charge({ tenantId, key, amount: usd(100), token: 'tok_timeout', signal: controller.signal })).rejects.toBeInstanceOf(ProcessorUnavailableError);
    expect(await redis.hget(simulatorChargeKey(tenantId, key), 'status')).toBe('approved');
    const started = Date.now();
    expect(await sim.charge({ tenantId, key, amount: usd(100), token: 'tok_timeout' })).toMatchObject({ outcome: 'approved' });
    // Far below the 2 s of the slow first answer: the recorded charge comes back at once.
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('when refunds add up past the charge, then the processor refuses; a refund key repeated refunds once', async () => {
    const charge = await sim.charge({ tenantId, key: randomUUID(), amount: usd(1000), token: 'tok_amex' });
    if (charge.outcome !== 'approved') throw new Error('expected an approval');
    const r1 = await sim.refund({ tenantId, key: 'r1', chargeRef: charge.chargeRef, amount: usd(600) });
    expect(await sim.refund({ tenantId, key: 'r1', chargeRef: charge.chargeRef, amount: usd(600) })).toEqual(r1);
    await expect(sim.refund({ tenantId, key: 'r2', chargeRef: charge.chargeRef, amount: usd(401) })).rejects.toMatchObject({ code: 'exceeds_captured' });
    await sim.refund({ tenantId, key: 'r3', chargeRef: charge.chargeRef, amount: usd(400) });
  });

  it('when a key is voided before any charge, then a later charge with it answers voided; a captured charge is reversed by void', async () => {
    const key = randomUUID();
    expect(await sim.void({ tenantId, key })).toEqual({ voidedAmount: 0, chargeRef: null });
    expect(await sim.charge({ tenantId, key, amount: usd(100), token: 'tok_visa' })).toEqual({ outcome: 'voided', chargeRef: null });
    const other = randomUUID();
    const charge = await sim.charge({ tenantId, key: other, amount: usd(900), token: 'tok_visa' });
    expect(await sim.void({ tenantId, key: other })).toMatchObject({ voidedAmount: 900 });
    expect(await sim.void({ tenantId, key: other })).toMatchObject({ voidedAmount: 0 });
    if (charge.outcome === 'approved') await expect(sim.refund({ tenantId, key: 'late', chargeRef: charge.chargeRef, amount: usd(1) })).rejects.toMatchObject({ code: 'not_captured' });
  });

  it('when the token declines or errors, then the decline is recorded and replayed, and an outage records nothing', async () => {
    const key = randomUUID();
    const declined = await sim.charge({ tenantId, key, amount: usd(100), token: 'tok_insufficientFunds' });
    expect(declined).toMatchObject({ outcome: 'declined', declineCode: 'insufficient_funds' });
    expect(await sim.charge({ tenantId, key, amount: usd(100), token: 'tok_insufficientFunds' })).toEqual(declined);
    const down = randomUUID();
    await expect(sim.charge({ tenantId, key: down, amount: usd(100), token: 'tok_processingError' })).rejects.toBeInstanceOf(ProcessorUnavailableError);
    expect(await redis.exists(simulatorChargeKey(tenantId, down))).toBe(0);
    expect(await sim.charge({ tenantId, key: randomUUID(), amount: usd(100), token: 'tok_unknown' })).toMatchObject({ outcome: 'declined', declineCode: 'invalid_token' });
  });
});
