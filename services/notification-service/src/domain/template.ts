/*
 * A tiny mustache-like template language, enough for notification bodies and nothing more:
 *
 *   {{name}}            the value of `name` (dotted paths: {{store.name}}; {{.}} is the current item)
 *   {{#lines}}…{{/lines}} repeats for each item of an array, or renders once when the value is truthy
 *   {{^lines}}…{{/lines}} renders when the value is missing, false or an empty array
 *
 * There is no raw (unescaped) output: in HTML bodies every value is HTML-escaped, so data can never
 * inject markup. A section tag alone on its line takes the line with it (as in mustache), so lists
 * can be written one item per line.
 */

type Node = { kind: 'text'; value: string } | { kind: 'var'; path: string } | { kind: 'section'; path: string; inverted: boolean; children: Node[] };

export type RenderMode = 'text' | 'html';

export class TemplateSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateSyntaxError';
  }
}

const PATH = /^(?:\.|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)$/;
const STANDALONE_SECTION_TAG = /^[ \t]*(\{\{[ \t]*[#^/][^{}\n]*\}\})[ \t]*(?:\r?\n|$)/gm;
const MAX_DEPTH = 8;

export function parseTemplate(source: string): Node[] {
  const text = source.replace(STANDALONE_SECTION_TAG, '$1');
  const root: Node[] = [];
  const stack: Array<{ path: string; children: Node[] }> = [];
  let current = root;
  let pos = 0;
  while (pos < text.length) {
    const open = text.indexOf('{{', pos);
    if (open === -1) {
      current.push({ kind: 'text', value: text.slice(pos) });
      break;
    }
    if (open > pos) current.push({ kind: 'text', value: text.slice(pos, open) });
    const close = text.indexOf('}}', open + 2);
    if (close === -1) throw new TemplateSyntaxError(`unclosed tag at character ${open + 1}`);
    const inner = text.slice(open + 2, close).trim();
    pos = close + 2;
    const sigil = inner[0];
    if (sigil === '#' || sigil === '^') {
      const path = inner.slice(1).trim();
      if (!PATH.test(path) || path === '.') throw new TemplateSyntaxError(`invalid section name "${path}"`);
      if (stack.length >= MAX_DEPTH) throw new TemplateSyntaxError(`sections nest deeper than ${MAX_DEPTH}`);
      const node: Node = { kind: 'section', path, inverted: sigil === '^', children: [] };
      current.push(node);
      stack.push({ path, children: current });
      current = node.children;
    } else if (sigil === '/') {
      const path = inner.slice(1).trim();
      const top = stack.pop();
      if (!top) throw new TemplateSyntaxError(`"{{/${path}}}" closes a section that was never opened`);
      if (top.path !== path) throw new TemplateSyntaxError(`"{{/${path}}}" closes "{{#${top.path}}}"`);
      current = top.children;
    } else {
      if (!PATH.test(inner)) throw new TemplateSyntaxError(`invalid tag "{{${inner}}}": use {{name}}, {{#list}}…{{/list}} or {{^name}}…{{/name}}`);
      current.push({ kind: 'var', path: inner });
    }
  }
  if (stack.length) throw new TemplateSyntaxError(`section "{{#${stack[stack.length - 1]!.path}}}" is never closed`);
  return root;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;', '=': '&#61;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`=]/g, (c) => HTML_ESCAPES[c]!);
}

function lookup(stack: unknown[], path: string): unknown {
  if (path === '.') return stack[stack.length - 1];
  const [first, ...rest] = path.split('.');
  for (let i = stack.length - 1; i >= 0; i--) {
    const scope = stack[i];
    if (scope !== null && typeof scope === 'object' && Object.hasOwn(scope, first!)) {
      let value: unknown = (scope as Record<string, unknown>)[first!];
      for (const key of rest) {
        value = value !== null && typeof value === 'object' && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
      }
      return value;
    }
  }
  return undefined;
}

function stringify(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return value.map(stringify).join(', ');
  return '';
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === false || value === '' || (Array.isArray(value) && value.length === 0);
}

function renderNodes(nodes: Node[], stack: unknown[], mode: RenderMode, out: string[]): void {
  for (const node of nodes) {
    if (node.kind === 'text') out.push(node.value);
    else if (node.kind === 'var') {
      const s = stringify(lookup(stack, node.path));
      out.push(mode === 'html' ? escapeHtml(s) : s);
    } else {
      const value = lookup(stack, node.path);
      if (node.inverted) {
        if (isEmpty(value)) renderNodes(node.children, stack, mode, out);
      } else if (Array.isArray(value)) {
        for (const item of value) renderNodes(node.children, [...stack, item], mode, out);
      } else if (!isEmpty(value)) {
        renderNodes(node.children, typeof value === 'object' ? [...stack, value] : stack, mode, out);
      }
    }
  }
}

/** Renders a template; in `html` mode every value is HTML-escaped. Throws TemplateSyntaxError. */
export function renderTemplate(source: string, data: Record<string, unknown>, mode: RenderMode = 'text'): string {
  const out: string[] = [];
  renderNodes(parseTemplate(source), [data], mode, out);
  return out.join('');
}

export interface TemplateParts {
  subject: string;
  text: string;
  html?: string | null;
}

export interface RenderedMessage {
  subject: string;
  text: string;
  html: string | null;
}

/** Subject and text as plain text (the subject on one line), HTML with escaping. */
export function renderMessage(template: TemplateParts, data: Record<string, unknown>): RenderedMessage {
  return {
    subject: renderTemplate(template.subject, data).replace(/[\r\n]+/g, ' ').trim(),
    text: renderTemplate(template.text, data),
    html: template.html ? renderTemplate(template.html, data, 'html') : null,
  };
}

/** Field errors for a template body (parse problems), for 400 responses. */
export function templateErrors(parts: Partial<TemplateParts>, prefix = ''): Array<{ path: string; message: string }> {
  const errors: Array<{ path: string; message: string }> = [];
  for (const [field, source] of Object.entries(parts)) {
    if (typeof source !== 'string') continue;
    try {
      parseTemplate(source);
    } catch (err) {
      if (!(err instanceof TemplateSyntaxError)) throw err;
      errors.push({ path: `${prefix}${field}`, message: err.message });
    }
  }
  return errors;
}
