import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Pool } from '@pos/database';
import { DEFAULT_TEMPLATES } from '../src/domain/default-templates';
import { escapeHtml, renderMessage, renderTemplate, TemplateSyntaxError } from '../src/domain/template';
import { formatMoney, receiptData, SaleCompletedData } from '../src/domain/receipt';
import { backoffMs } from '../src/domain/backoff';
import {
  adminPool,
  bearer,
  createShop,
  drain,
  saleView,
  startAuthServer,
  startNotifications,
  startSmtpServer,
  type AuthServer,
  type NotificationsUnderTest,
  type Shop,
  type SmtpSink,
} from './helpers';

describe('template rendering', () => {
  it('when a value holds <script> and the body is html, then it is escaped; in text it is kept as is', () => {
    const data = { name: '<script>alert(1)</script>', q: `"it's" & <b>` };
    expect(renderTemplate('<p>{{name}}</p>', data, 'html')).toBe('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>');
    expect(renderTemplate('<a title="{{q}}">', data, 'html')).toBe('<a title="&quot;it&#39;s&quot; &amp; &lt;b&gt;">');
    expect(renderTemplate('Hi {{name}}', data)).toBe('Hi <script>alert(1)</script>');
    expect(escapeHtml('`=')).toBe('&#96;&#61;');
  });

  it('when a template has sections, dotted names and inverted sections, then lists repeat, standalone tag lines vanish and missing values are empty', () => {
    const source = 'Items:\n{{#lines}}\n- {{qty}} x {{name}} ({{store.name}})\n{{/lines}}\n{{^lines}}\nnothing\n{{/lines}}\n{{#vip}}VIP {{missing}}!{{/vip}}';
    expect(renderTemplate(source, { lines: [{ qty: 2, name: 'Tea' }, { qty: 1, name: 'Mug' }], store: { name: 'Main' }, vip: true })).toBe(
      'Items:\n- 2 x Tea (Main)\n- 1 x Mug (Main)\nVIP !',
    );
    expect(renderTemplate(source, { lines: [] })).toBe('Items:\nnothing\n');
    expect(renderTemplate('{{#tags}}[{{.}}]{{/tags}}', { tags: ['a', 'b'] })).toBe('[a][b]');
    expect(renderTemplate('{{__proto__}}{{constructor}}', {})).toBe('');
  });

  it('when tags are broken, then a syntax error names the problem', () => {
    expect(() => renderTemplate('{{#a}}x', {})).toThrow(/never closed/);
    expect(() => renderTemplate('{{/a}}', {})).toThrow(TemplateSyntaxError);
    expect(() => renderTemplate('{{#a}}{{/b}}', {})).toThrow(/closes/);
    expect(() => renderTemplate('{{{raw}}}', {})).toThrow(/invalid tag/);
    expect(() => renderTemplate('{{ name', {})).toThrow(/unclosed/);
  });

  it('when a subject renders a line break, then it stays on one line', () => {
    expect(renderMessage({ subject: 'Hi {{name}}', text: 'x' }, { name: 'a\r\nBcc: evil@x' }).subject).toBe('Hi a Bcc: evil@x');
  });

  it('when money is formatted, then minor units follow the currency', () => {
    expect(formatMoney({ amount: 1799, currency: 'USD' })).toBe('$17.99');
    expect(formatMoney({ amount: 1500, currency: 'JPY' })).toBe('¥1,500');
    expect(formatMoney({ amount: 123456, currency: 'EUR' })).toBe('€1,234.56');
  });

  it('when the default receipt is rendered for a sale, then every line, the totals, tenders and change are in it', () => {
    const sale = SaleCompletedData.parse(saleView(randomUUID(), randomUUID()));
    const text = renderMessage(DEFAULT_TEMPLATES.receipt!, receiptData(sale, 'Ada')).text;
    expect(text).toContain('2 x Espresso beans 250 g (COF-ESP) @ $8.99 = $19.46\n1 x Mug, white (MUG-WHT) @ $12.00 = $11.69\n');
    expect(text).toContain('Subtotal: $29.98\nDiscounts: -$1.20\nTax: $2.37\nTotal: $31.15\nPaid by card: $20.00\nPaid by cash: $11.15\nChange: $8.85\n');
  });

  it('when attempts fail, then the backoff doubles from the base, jitters ±20 % and stops at the cap', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, 1_000, 60_000, () => 0.5))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(backoffMs(3, 1_000, 60_000, () => 0)).toBe(3_200);
    expect(backoffMs(3, 1_000, 60_000, () => 1)).toBe(4_800);
    expect(backoffMs(30, 1_000, 60_000, () => 1)).toBe(60_000);
  });
});

describe('notification-service templates and settings API', () => {
  let auth: AuthServer;
  let smtp: SmtpSink;
  let svc: NotificationsUnderTest;
  let shop: Shop;
  let otherShop: Shop;
  let admin: Pool;

  beforeAll(async () => {
    auth = await startAuthServer();
    smtp = await startSmtpServer();
    svc = await startNotifications({ AUTH_SERVICE_URL: auth.url, SMTP_PORT: String(smtp.port) });
    shop = await createShop(auth);
    otherShop = await createShop(auth);
    svc.tenants.push(shop.tenantId, otherShop.tenantId);
    admin = adminPool();
  });
  afterAll(async () => {
    await svc.close();
    await smtp.close();
    await auth.close();
    await admin.end();
  });

  const putTemplate = (token: string, name: string, body: Record<string, unknown>) => request(svc.app).put(`/api/v1/notifications/templates/${name}`).set(bearer(token)).send(body);

  it('when the templates are listed, then the four defaults are there, not customized', async () => {
    const res = await request(svc.app).get('/api/v1/notifications/templates').set(bearer(shop.manager.token)).expect(200);
    expect(res.body.data.map((t: { name: string }) => t.name)).toEqual(['low_stock', 'password_reset', 'receipt', 'welcome']);
    expect(res.body.data.find((t: { name: string }) => t.name === 'receipt')).toMatchObject({ isDefault: true, customized: false, version: 0, subject: 'Your receipt {{receiptNumber}}' });
  });

  it('when the owner customizes the receipt, then the next email uses it, versions are checked, and another tenant still sees the default', async () => {
    const created = await putTemplate(shop.accessToken, 'receipt', { subject: 'Receipt {{receiptNumber}} from Corner Shop', text: 'Thanks {{customerName}}!\n{{#lines}}\n* {{name}}\n{{/lines}}', html: '<h1>{{customerName}}</h1>', version: 0 }).expect(200);
    expect(created.body).toMatchObject({ name: 'receipt', isDefault: true, customized: true, version: 1, subject: 'Receipt {{receiptNumber}} from Corner Shop' });
    const stale = await putTemplate(shop.accessToken, 'receipt', { subject: 'x', text: 'y', version: 0 }).expect(409);
    expect(stale.body).toMatchObject({ code: 'version_conflict', currentVersion: 1 });
    const { rows } = await admin.query('SELECT subject, version FROM notifications.templates WHERE tenant_id = $1 AND name = $2', [shop.tenantId, 'receipt']);
    expect(rows).toEqual([{ subject: 'Receipt {{receiptNumber}} from Corner Shop', version: 1 }]);

    const to = `custom-${randomUUID().slice(0, 6)}@example.test`;
    const sent = await request(svc.app)
      .post('/api/v1/notifications/email')
      .set(bearer(shop.manager.token))
      .set('Idempotency-Key', randomUUID())
      .send({ to, template: 'receipt', data: { receiptNumber: 'R-7', customerName: '<Bo>', lines: [{ name: 'Tea' }] } })
      .expect(202);
    await drain(svc.worker, async () => (await admin.query('SELECT status FROM notifications.deliveries WHERE id = $1', [sent.body.id])).rows[0].status === 'sent');
    const mail = smtp.messages.find((m) => m.to.includes(to))!;
    expect(mail.subject).toBe('Receipt R-7 from Corner Shop');
    expect(mail.text).toBe('Thanks <Bo>!\n* Tea\n');
    expect(mail.html).toContain('<h1>&lt;Bo&gt;</h1>');

    const theirs = await request(svc.app).get('/api/v1/notifications/templates/receipt').set(bearer(otherShop.accessToken)).expect(200);
    expect(theirs.body).toMatchObject({ customized: false, version: 0, subject: 'Your receipt {{receiptNumber}}' });
  });

  it('when the owner creates a template of their own, then it can be read and used by name; an unknown one is 404', async () => {
    await putTemplate(shop.accessToken, 'promo_2025', { subject: 'Sale!', text: 'Hello {{name}}' }).expect(200);
    const one = await request(svc.app).get('/api/v1/notifications/templates/promo_2025').set(bearer(shop.accessToken)).expect(200);
    expect(one.body).toMatchObject({ name: 'promo_2025', isDefault: false, customized: true, version: 1, html: null, description: null });
    await request(svc.app).get('/api/v1/notifications/templates/promo_2025').set(bearer(otherShop.accessToken)).expect(404);
    await request(svc.app).post('/api/v1/notifications/email').set(bearer(otherShop.accessToken)).set('Idempotency-Key', randomUUID()).send({ to: 'x@example.test', template: 'promo_2025' }).expect(400);
  });

  it('when a template has broken tags or a bad name, then 400 naming the field; a manager or cashier cannot change templates (403)', async () => {
    const res = await putTemplate(shop.accessToken, 'receipt', { subject: '{{#a}}', text: 'ok {{/b}}' }).expect(400);
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['subject', 'text']);
    const name = await putTemplate(shop.accessToken, 'Bad-Name', { subject: 'x', text: 'y' }).expect(400);
    expect(name.body.errors).toEqual([{ path: 'params.name', message: expect.any(String) }]);
    await putTemplate(shop.manager.token, 'receipt', { subject: 'x', text: 'y' }).expect(403);
    await putTemplate(shop.cashier.token, 'receipt', { subject: 'x', text: 'y' }).expect(403);
    await request(svc.app).get('/api/v1/notifications/templates').set(bearer(shop.cashier.token)).expect(403);
    await request(svc.app).get('/api/v1/notifications/templates/receipt').set(bearer(shop.cashier.token)).expect(403);
  });

  it('when the settings are read before any change, then the defaults come back (receipts off, no extra recipients)', async () => {
    const res = await request(svc.app).get('/api/v1/notifications/settings').set(bearer(otherShop.manager.token)).expect(200);
    expect(res.body).toEqual({ receiptEmails: false, lowStockRecipients: [], version: 0, updatedAt: null });
  });

  it('when the owner changes one setting, then the other keeps its value, the version moves, and a stale version is 409', async () => {
    const first = await request(svc.app).put('/api/v1/notifications/settings').set(bearer(shop.accessToken)).send({ receiptEmails: true }).expect(200);
    expect(first.body).toMatchObject({ receiptEmails: true, lowStockRecipients: [], version: 1 });
    const second = await request(svc.app).put('/api/v1/notifications/settings').set(bearer(shop.accessToken)).send({ lowStockRecipients: ['Buyer@Example.test'], version: 1 }).expect(200);
    expect(second.body).toMatchObject({ receiptEmails: true, lowStockRecipients: ['buyer@example.test'], version: 2 });
    await request(svc.app).put('/api/v1/notifications/settings').set(bearer(shop.accessToken)).send({ receiptEmails: false, version: 1 }).expect(409);
    const { rows } = await admin.query('SELECT receipt_emails, low_stock_recipients, version FROM notifications.settings WHERE tenant_id = $1', [shop.tenantId]);
    expect(rows).toEqual([{ receipt_emails: true, low_stock_recipients: ['buyer@example.test'], version: 2 }]);
    const theirs = await request(svc.app).get('/api/v1/notifications/settings').set(bearer(otherShop.accessToken)).expect(200);
    expect(theirs.body.receiptEmails).toBe(false);
  });

  it('when settings are wrong or changed by a manager or cashier, then 400 / 403', async () => {
    const bad = await request(svc.app).put('/api/v1/notifications/settings').set(bearer(shop.accessToken)).send({ receiptEmails: 'yes', lowStockRecipients: ['nope'] }).expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['lowStockRecipients.0', 'receiptEmails']);
    await request(svc.app).put('/api/v1/notifications/settings').set(bearer(shop.accessToken)).send({}).expect(400);
    await request(svc.app).put('/api/v1/notifications/settings').set(bearer(shop.manager.token)).send({ receiptEmails: false }).expect(403);
    await request(svc.app).put('/api/v1/notifications/settings').set(bearer(shop.cashier.token)).send({ receiptEmails: false }).expect(403);
    await request(svc.app).get('/api/v1/notifications/settings').set(bearer(shop.cashier.token)).expect(403);
  });
});
