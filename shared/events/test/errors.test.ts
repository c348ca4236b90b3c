import { isTransientError, TransientEventError } from '@pos/events';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isTransientError', () => {
  it.each([
    ['a refused connection', withCode('ECONNREFUSED')],
    ['a reset connection', withCode('ECONNRESET')],
    ['a socket timeout', withCode('ETIMEDOUT')],
    ['a broken pipe', withCode('EPIPE')],
    ['a Postgres admin shutdown', withCode('57P01')],
    ['a Postgres connection exception class', withCode('08006')],
    ['a statement timeout', withCode('57014')],
    ['pg-pool losing the connection', new Error('Connection terminated unexpectedly')],
    ['pg-pool checkout timeout', new Error('timeout exceeded when trying to connect')],
    ['ioredis closed connection', new Error('Connection is closed.')],
    [
      'ioredis retry limit',
      Object.assign(new Error('Reached the max retries per request limit (which is 20).'), { name: 'MaxRetriesPerRequestError' }),
    ],
    ['fetch failing to connect', new TypeError('fetch failed', { cause: withCode('ECONNREFUSED') })],
    ['an AbortSignal timeout', Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' })],
    ['happy-eyeballs AggregateError', new AggregateError([withCode('ECONNREFUSED')], '')],
    ['a handler-declared outage', new TransientEventError('inventory-service answered 503')],
  ])('when the error is %s, then it is an outage that does not count toward the DLQ', (_name, err) => {
    expect(isTransientError(err)).toBe(true);
  });

  it.each([
    ['a plain handler bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a unique violation', withCode('23505')],
    ['a check violation', withCode('23514')],
    ['a non-error value', 'boom'],
    ['undefined', undefined],
  ])('when the error is %s, then it counts toward the DLQ', (_name, err) => {
    expect(isTransientError(err)).toBe(false);
  });
});
