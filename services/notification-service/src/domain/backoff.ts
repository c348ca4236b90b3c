/**
 * Delay before the next attempt after `attempt` failed ones: base * 2^(attempt-1), capped, with
 * ±20 % jitter so deliveries that failed together (an SMTP outage) do not retry in lockstep.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  const jittered = exponential * (0.8 + 0.4 * random());
  return Math.max(0, Math.min(maxMs, Math.round(jittered)));
}
