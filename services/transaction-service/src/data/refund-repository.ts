import type { Queryable } from '@pos/database';

export interface RefundRow {
  id: string;
  tenant_id: string;
  sale_id: string;
  idempotency_key: string;
  status: 'pending' | 'completed';
  reason: string | null;
  restock: boolean;
  total: number;
  tax: number;
  cash_amount: number;
  shift_id: string | null;
  created_by: string;
  created_at: Date;
}

export interface RefundLineRow {
  line_id: string;
  quantity: number;
  total: number;
  tax: number;
  product_id: string;
}

export interface RefundTenderRow {
  seq: number;
  tender_id: string | null;
  method: string;
  amount: number;
  status: 'pending' | 'completed';
  payment_id: string | null;
}

export interface FullRefund {
  refund: RefundRow;
  lines: RefundLineRow[];
  tenders: RefundTenderRow[];
  currency: string;
  storeId: string;
}

export async function findRefund(db: Queryable, tenantId: string, id: string): Promise<FullRefund | undefined> {
  const { rows } = await db.query<RefundRow & { currency: string; store_id: string }>(
    'SELECT r.*, s.currency, s.store_id FROM sales.refunds r JOIN sales.sales s ON s.id = r.sale_id WHERE r.tenant_id = $1 AND r.id = $2',
    [tenantId, id],
  );
  const refund = rows[0];
  if (!refund) return undefined;
  const lines = await db.query<RefundLineRow>(
    'SELECT rl.line_id, rl.quantity, rl.total, rl.tax, sl.product_id FROM sales.refund_lines rl JOIN sales.sale_lines sl ON sl.id = rl.line_id WHERE rl.refund_id = $1 ORDER BY sl.line_no',
    [id],
  );
  const tenders = await db.query<RefundTenderRow>(
    'SELECT rt.seq, rt.tender_id, rt.method, rt.amount, rt.status, st.payment_id FROM sales.refund_tenders rt LEFT JOIN sales.sale_tenders st ON st.id = rt.tender_id WHERE rt.refund_id = $1 ORDER BY rt.seq',
    [id],
  );
  return { refund, lines: lines.rows, tenders: tenders.rows, currency: refund.currency, storeId: refund.store_id };
}

export const refundView = (r: FullRefund) => {
  const m = (amount: number) => ({ amount, currency: r.currency });
  return {
    id: r.refund.id,
    saleId: r.refund.sale_id,
    status: r.refund.status,
    total: m(r.refund.total),
    tax: m(r.refund.tax),
    restock: r.refund.restock,
    reason: r.refund.reason,
    lines: r.lines.map((l) => ({ lineId: l.line_id, quantity: l.quantity, total: m(l.total), tax: m(l.tax) })),
    tenders: r.tenders.map((t) => ({ method: t.method, amount: m(t.amount), status: t.status })),
    createdAt: r.refund.created_at.toISOString(),
  };
};
