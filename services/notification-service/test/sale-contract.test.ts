import { randomUUID } from 'node:crypto';
import { saleView, type FullSale } from '../../transaction-service/src/data/sale-repository';
import { SaleCompletedData, receiptData } from '../src/domain/receipt';

// The receipt consumer reads what transaction-service really puts in sale.completed; this pins the contract.
describe('sale.completed contract between transaction-service and notification-service', () => {
  it("when transaction-service's sale view is read as sale.completed data, then it parses and renders a receipt", () => {
    const saleId = randomUUID();
    const full: FullSale = {
      sale: {
        id: saleId, tenant_id: randomUUID(), store_id: randomUUID(), shift_id: randomUUID(), cashier_id: randomUUID(), customer_id: randomUUID(),
        idempotency_key: 'k', status: 'completed', failure_code: null, failure_reason: null, receipt_number: 17, currency: 'USD', tax_inclusive: false,
        subtotal: 1000, discount_total: 0, tax_total: 83, total: 1083, cash_applied: 1083, change_due: 0, discounts: [], business_date: '2026-11-26',
        refunded_total: 0, lease_until: new Date(), created_at: new Date(), completed_at: new Date(), version: 2,
        occurred_at: null, terminal_id: null, synced_at: null, flags: [], request_hash: null, failure_details: null,
      },
      lines: [
        { id: randomUUID(), sale_id: saleId, line_no: 1, product_id: randomUUID(), sku: 'COF', name: 'Coffee', quantity: 1, unit_price: 1000, catalog_price: 1000, price_override_by: null, tax_rate_bps: 825, line_discount: 0, order_discount: 0, tax: 83, total: 1083, refunded_quantity: 0, refunded_total: 0, refunded_tax: 0 },
      ],
      tenders: [{ id: randomUUID(), sale_id: saleId, tender_no: 1, method: 'cash', tendered: 1083, applied: 1083, payment_key: 'k:tender:0', payment_id: randomUUID(), status: 'captured', details: {}, refunded_amount: 0 }],
    };
    const parsed = SaleCompletedData.parse({ ...saleView(full), businessDate: '2026-11-26' });
    expect(receiptData(parsed, 'Ada')).toMatchObject({ receiptNumber: '17', customerName: 'Ada' });
  });
});
