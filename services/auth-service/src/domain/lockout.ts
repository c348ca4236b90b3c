/** Pure lockout rule shared by password and PIN logins. */
export interface LockState {
  failures: number;
  lockedUntil: Date | null;
}

export interface LockPolicy {
  maxFailures: number;
  lockMinutes: number;
}

export function isLocked(state: LockState, now: Date): boolean {
  return state.lockedUntil !== null && state.lockedUntil.getTime() > now.getTime();
}

/** After a failed attempt: count it, and lock when the count reaches the limit (the count restarts). */
export function afterFailure(state: LockState, policy: LockPolicy, now: Date): LockState {
  const failures = isLocked(state, now) ? state.failures : state.failures + 1;
  if (failures >= policy.maxFailures) {
    return { failures: 0, lockedUntil: new Date(now.getTime() + policy.lockMinutes * 60_000) };
  }
  return { failures, lockedUntil: state.lockedUntil };
}

export function secondsUntilUnlocked(state: LockState, now: Date): number {
  return state.lockedUntil ? Math.max(1, Math.ceil((state.lockedUntil.getTime() - now.getTime()) / 1000)) : 0;
}
