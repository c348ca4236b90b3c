import type { Logger } from '@pos/utils';
import { ProcessorRejectedError, ProcessorUnavailableError } from './processor';

/** A point in time a piece of work must finish by. */
export class Deadline {
  private constructor(readonly at: number) {}
  static in(ms: number): Deadline {
    return new Deadline(Date.now() + ms);
  }
  remaining(): number {
    return Math.max(0, this.at - Date.now());
  }
  /** A deadline `ms` earlier than this one (keeps time for the work after the processor call). */
  earlier(ms: number): Deadline {
    return new Deadline(this.at - ms);
  }
}

export interface RetryPolicy {
  /** Upper bound of one call. */
  timeoutMs: number;
  maxAttempts: number;
  /** Pause after an outage error, doubled on each further attempt; timeouts retry at once. */
  backoffMs: number;
}

/** Below this, another attempt cannot get a useful answer before the deadline. */
const MIN_ATTEMPT_MS = 25;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs one processor operation with a per-call timeout and bounded retries, within `deadline`.
 * `op` is called again with the SAME arguments (so the same processor idempotency key) on every
 * attempt: a charge that landed but whose answer was lost comes back as the recorded charge.
 * Throws ProcessorRejectedError at once; throws ProcessorUnavailableError (timedOut when the last
 * failure was a timeout) when every attempt failed or the deadline left no room for another.
 */
export async function callProcessor<T>(
  what: string,
  op: (signal: AbortSignal) => Promise<T>,
  policy: RetryPolicy,
  deadline: Deadline,
  logger?: Logger,
): Promise<T> {
  let last: ProcessorUnavailableError = new ProcessorUnavailableError(`${what}: no time left to call the processor`, true);
  for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
    const budget = Math.min(policy.timeoutMs, deadline.remaining());
    if (budget < MIN_ATTEMPT_MS) break;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Reject first: the abort below may make `op` reject too, and the timeout must win the race.
        reject(new ProcessorUnavailableError(`${what} timed out after ${budget} ms`, true));
        controller.abort();
      }, budget);
    });
    try {
      const running = op(controller.signal);
      // If the timeout wins, the abandoned call may still reject later: never let that go unhandled.
      running.catch(() => undefined);
      return await Promise.race([running, timeout]);
    } catch (err) {
      if (err instanceof ProcessorRejectedError) throw err;
      last = err instanceof ProcessorUnavailableError ? err : new ProcessorUnavailableError(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
      logger?.warn('processor call failed', { operation: what, attempt, of: policy.maxAttempts, timedOut: last.timedOut, err: last.message });
      if (attempt < policy.maxAttempts && !last.timedOut && policy.backoffMs > 0) {
        const pause = Math.min(policy.backoffMs * 2 ** (attempt - 1), Math.max(0, deadline.remaining() - MIN_ATTEMPT_MS));
        if (pause > 0) await sleep(pause);
      }
    } finally {
      clearTimeout(timer);
    }
  }
  throw last;
}
