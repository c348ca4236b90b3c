import { Writable } from 'node:stream';
import winston from 'winston';
import { containsCardNumber, createLogger, luhnValid, maskCardNumbers, redact, runWithContext } from '../src';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()));
      cb();
    },
  });
  const logger = createLogger({ service: 'test', level: 'debug', transports: [new winston.transports.Stream({ stream })] });
  return { logger, lines };
}

describe('logger', () => {
  it('when a line is logged inside a request context, then it carries the request, tenant and user ids', async () => {
    const { logger, lines } = capture();
    runWithContext({ requestId: 'req-1', tenantId: 't-1', userId: 'u-1' }, () => logger.info('hello'));
    await new Promise((r) => setImmediate(r));
    expect(lines[0]).toMatchObject({ message: 'hello', requestId: 'req-1', tenantId: 't-1', userId: 'u-1', service: 'test', level: 'info' });
  });

  it('when secrets or card numbers are logged, then they never reach the output', async () => {
    const { logger, lines } = capture();
    logger.info('paid with 4111 1111 1111 1111', {
      password: 'hunter2hunter2',
      body: { refreshToken: 'rt_abc', pin: '1234', cvv: '123', note: 'card 5555555555554444 please', nested: [{ authorization: 'Bearer x' }] },
    });
    await new Promise((r) => setImmediate(r));
    const text = JSON.stringify(lines[0]);
    for (const leaked of ['hunter2hunter2', 'rt_abc', '"1234"', '"123"', '4111 1111 1111 1111', '5555555555554444', 'Bearer x']) expect(text).not.toContain(leaked);
    expect(text).toContain('****1111');
    expect(text).toContain('****4444');
  });
});

describe('card number detection', () => {
  it('when digits pass Luhn, then they are treated as a card number; otherwise not', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(containsCardNumber('order 1234567890123')).toBe(false);
    expect(containsCardNumber('pan 4242-4242-4242-4242')).toBe(true);
    expect(maskCardNumbers('x 4242424242424242 y')).toBe('x [card ****4242] y');
    expect(maskCardNumbers('amex 3782 822463 10005')).toBe('amex [card ****0005]');
    // Stream ids and millisecond timestamps are not cards, even when their digits pass Luhn.
    expect(maskCardNumbers('message 1795686674428-1 at 1795686674428')).toBe('message 1795686674428-1 at 1795686674428');
  });

  it('when an object is redacted, then secret-named keys are hidden at any depth and the input is untouched', () => {
    const input = { a: { clientSecret: 's', list: [{ token: 't' }] }, ok: 1 };
    expect(redact(input)).toEqual({ a: { clientSecret: '[REDACTED]', list: [{ token: '[REDACTED]' }] }, ok: 1 });
    expect(input.a.clientSecret).toBe('s');
  });
});
