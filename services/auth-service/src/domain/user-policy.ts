import type { UserRole } from '@pos/types';

export interface Actor {
  userId: string;
  role: string;
  stores: string[];
}

export interface TargetUser {
  id?: string;
  role: UserRole;
  storeIds: string[];
}

/**
 * Who may create or change whom: owners manage everyone; managers manage cashiers whose stores are
 * all among their own; nobody else manages users. Returns the reason when refused.
 */
export function cannotManage(actor: Actor, target: TargetUser): string | undefined {
  if (actor.role === 'owner') return undefined;
  if (actor.role !== 'manager') return 'Only owners and managers manage users';
  if (target.role !== 'cashier') return 'A manager can only manage cashiers';
  const outside = target.storeIds.filter((s) => !actor.stores.includes(s));
  if (outside.length > 0 || target.storeIds.length === 0) return 'A manager can only manage cashiers of their own stores';
  return undefined;
}

/** Users a manager can see: those sharing at least one store (and themselves). */
export function canView(actor: Actor, target: TargetUser): boolean {
  if (actor.role === 'owner') return true;
  if (target.id === actor.userId) return true;
  if (actor.role !== 'manager') return false;
  return target.storeIds.some((s) => actor.stores.includes(s));
}
