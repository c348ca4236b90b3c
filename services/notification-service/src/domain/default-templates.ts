import type { TemplateParts } from './template';

/**
 * The templates every tenant starts with; `PUT /notifications/templates/:name` overrides one per
 * tenant. Variables are documented next to each (the event handlers provide them).
 */
export const DEFAULT_TEMPLATES: Record<string, TemplateParts & { description: string }> = {
  // Variables: customerName, receiptNumber, businessDate, storeId, lines[{quantity, name, sku, unitPrice,
  // discount, tax, total}], subtotal, discountTotal, hasDiscount, taxTotal, total, tenders[{method, amount}],
  // changeDue, hasChange (money values are formatted, e.g. "$12.50").
  receipt: {
    description: 'Receipt emailed to a customer after a sale (opt-in per tenant)',
    subject: 'Your receipt {{receiptNumber}}',
    text: `Hello {{customerName}},

thank you for your purchase. Receipt {{receiptNumber}} of {{businessDate}}:

{{#lines}}
{{quantity}} x {{name}} ({{sku}}) @ {{unitPrice}} = {{total}}
{{/lines}}

Subtotal: {{subtotal}}
{{#hasDiscount}}
Discounts: -{{discountTotal}}
{{/hasDiscount}}
Tax: {{taxTotal}}
Total: {{total}}
{{#tenders}}
Paid by {{method}}: {{amount}}
{{/tenders}}
{{#hasChange}}
Change: {{changeDue}}
{{/hasChange}}
`,
    html: `<p>Hello {{customerName}},</p>
<p>thank you for your purchase. Receipt <strong>{{receiptNumber}}</strong> of {{businessDate}}:</p>
<table>
{{#lines}}
<tr><td>{{quantity}} x {{name}} ({{sku}})</td><td>{{unitPrice}}</td><td>{{total}}</td></tr>
{{/lines}}
</table>
<p>Subtotal: {{subtotal}}<br>{{#hasDiscount}}Discounts: -{{discountTotal}}<br>{{/hasDiscount}}Tax: {{taxTotal}}<br><strong>Total: {{total}}</strong></p>
<p>{{#tenders}}Paid by {{method}}: {{amount}}<br>{{/tenders}}{{#hasChange}}Change: {{changeDue}}{{/hasChange}}</p>
`,
  },
  // Variables: name, sku, onHand, reorderPoint, storeId, storeName.
  low_stock: {
    description: 'Alert to the store managers (and the tenant’s low-stock recipients) when stock falls to the reorder point',
    subject: 'Low stock: {{name}} ({{sku}}) at {{storeName}}',
    text: `{{name}} (SKU {{sku}}) is down to {{onHand}} at {{storeName}}; its reorder point is {{reorderPoint}}.

Time to reorder.
`,
    html: `<p><strong>{{name}}</strong> (SKU {{sku}}) is down to <strong>{{onHand}}</strong> at {{storeName}}; its reorder point is {{reorderPoint}}.</p>
<p>Time to reorder.</p>
`,
  },
  // Variables: name, email, link, expiresAt. Sent on user.invited.
  welcome: {
    description: 'Invitation of a new user: a link to set their password (sent on user.invited)',
    subject: 'You are invited to Cloud POS',
    text: `Hello {{name}},

you have been invited to Cloud POS as {{email}}. Set your password here:

{{link}}

The link works once and expires at {{expiresAt}}.
`,
    html: `<p>Hello {{name}},</p>
<p>you have been invited to Cloud POS as {{email}}. <a href="{{link}}">Set your password</a>.</p>
<p>The link works once and expires at {{expiresAt}}.</p>
`,
  },
  // Variables: name, email, link, expiresAt. Sent on user.password_reset_requested.
  password_reset: {
    description: 'Password reset link (sent on user.password_reset_requested)',
    subject: 'Reset your Cloud POS password',
    text: `Hello {{name}},

someone (hopefully you) asked to reset the password of {{email}}. Choose a new one here:

{{link}}

The link works once and expires at {{expiresAt}}. If you did not ask for this, ignore this email.
`,
    html: `<p>Hello {{name}},</p>
<p>someone (hopefully you) asked to reset the password of {{email}}. <a href="{{link}}">Choose a new password</a>.</p>
<p>The link works once and expires at {{expiresAt}}. If you did not ask for this, ignore this email.</p>
`,
  },
};

export const DEFAULT_TEMPLATE_NAMES = Object.keys(DEFAULT_TEMPLATES);

/** Templates whose rendered bodies carry a one-time secret. */
export const SENSITIVE_TEMPLATES = new Set(['welcome', 'password_reset']);
