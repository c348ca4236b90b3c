import type { ChainableCommander } from 'ioredis';

/** A sleep that `wake()` cuts short, so stop() does not wait out a poll interval. */
export class Sleeper {
  private timer: NodeJS.Timeout | undefined;
  private resolve: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }

  wake(): void {
    clearTimeout(this.timer);
    this.resolve?.();
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what} timed out after ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Like `{ ...defaults, ...options }`, except that an option explicitly set to undefined keeps its default. */
export function withDefaults<D extends object, O extends object>(defaults: D, options: O): D & O {
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return { ...defaults, ...defined } as D & O;
}

/** Runs a MULTI and throws the first per-command error, which ioredis would otherwise only report. */
export async function execAll(multi: ChainableCommander): Promise<void> {
  const results = await multi.exec();
  if (!results) throw new Error('Redis transaction was aborted');
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0];
}
