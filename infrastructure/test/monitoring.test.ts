// infrastructure/monitoring/ (Prometheus scrape config, alert rules, Grafana dashboard and
// provisioning) against what really runs. There is no Prometheus, promtool or Grafana here, so:
//   - the files are parsed and their structure checked (rules have a severity and a summary, the
//     dashboard's panels use the provisioned data source, ...);
//   - every PromQL expression (alerts, dashboard targets and variables) is tokenised, and every
//     metric it reads must be exported by some service: the services are started in-process the way
//     their own test helpers start them, wired to their metric registries as their main.ts wires
//     them, and their GET /metrics is read (`# TYPE` lines list a metric even before it has samples);
//   - label names in selectors and `by (...)` must exist on the metrics; label values that have a
//     known set (service names, event types, consumer outcomes, delivery outcomes, job names) must be
//     in it; a `route` the dashboard or alerts filter on must show up in /metrics once requested;
//   - the scrape targets must be the real services: compose names and ports, and the Kubernetes
//     relabelling applied to the pods of infrastructure/kubernetes/ keeps exactly the service pods
//     on their http port.
import { existsSync } from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Express } from 'express';
import { createPool, type Pool } from '@pos/database';
import { EventConsumer, OutboxRelay } from '@pos/events';
import { EVENTS } from '@pos/types';
import { createLogger } from '@pos/utils';
import { loadCompose, rawEnvironment, interpolate } from './support/compose';
import { NAMESPACE, loadManifests, workloads, podSpecOf } from './support/kubernetes';
import { discoverServices, readText, rel, type Json } from './support/repo';
import { startStack, type Stack } from '../../services/transaction-service/test/helpers';
import { startCustomers, type CustomersUnderTest } from '../../services/customer-service/test/helpers';
import { startNotifications, type NotificationsUnderTest } from '../../services/notification-service/test/helpers';
import { buildGateway, testRedis } from '../../services/api-gateway/test/helpers';
import type { PaymentsUnderTest } from '../../services/payment-service/test/helpers';
import { DeliveryWorker } from '../../services/notification-service/src/delivery-worker';
import type { GatewayApp } from '../../services/api-gateway/src/app';

const MONITORING = 'infrastructure/monitoring';
const PROMETHEUS_FILE = `${MONITORING}/prometheus.yml`;
const ALERTS_FILE = `${MONITORING}/alerts.yml`;
const DASHBOARD_FILE = `${MONITORING}/grafana/dashboards/pos.json`;
const DATASOURCES_FILE = `${MONITORING}/grafana/provisioning/datasources/prometheus.yml`;
const DASHBOARD_PROVIDER_FILE = `${MONITORING}/grafana/provisioning/dashboards/pos.yml`;

const services = discoverServices();
const serviceNames = services.map((s) => s.name).sort();
const prometheus: Json = parse(readText(PROMETHEUS_FILE), { prettyErrors: true });
const alerts: Json = parse(readText(ALERTS_FILE), { prettyErrors: true });
const dashboard: Json = JSON.parse(readText(DASHBOARD_FILE));
const datasources: Json = parse(readText(DATASOURCES_FILE), { prettyErrors: true });
const dashboardProvider: Json = parse(readText(DASHBOARD_PROVIDER_FILE), { prettyErrors: true });

// ---- PromQL: just enough of the grammar to find metric names, label matchers and grouping labels ----

interface Matcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}
interface Selector {
  metric: string;
  matchers: Matcher[];
}
interface Query {
  selectors: Selector[];
  /** Labels in by/without/on/ignoring/group_left/group_right (...) lists. */
  grouping: string[];
  functions: string[];
  aggregated: boolean;
}
interface Token {
  kind: 'string' | 'range' | 'ident' | 'number' | 'op';
  text: string;
}

const AGGREGATORS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);
const FUNCTIONS = new Set(
  (
    'abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month day_of_week day_of_year days_in_month delta deriv exp floor ' +
    'histogram_avg histogram_count histogram_fraction histogram_quantile histogram_stddev histogram_stdvar histogram_sum holt_winters double_exponential_smoothing ' +
    'hour idelta increase irate label_join label_replace ln log2 log10 minute month predict_linear rate resets round scalar sgn sort sort_desc ' +
    'sort_by_label sort_by_label_desc sqrt time timestamp vector year avg_over_time min_over_time max_over_time sum_over_time count_over_time ' +
    'quantile_over_time stddev_over_time stdvar_over_time last_over_time present_over_time mad_over_time acos acosh asin asinh atan atanh cos cosh ' +
    'sin sinh tan tanh deg rad pi'
  ).split(' '),
);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['bool', 'and', 'or', 'unless', 'offset', 'atan2', 'inf', 'nan']);

function tokenize(expr: string): Token[] {
  const re = /\s+|#[^\n]*|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)|(\[[^\]]*\])|([A-Za-z_:][A-Za-z0-9_:]*)|(\d[\w.]*|\.\d\w*)|(=~|!~|!=|==|<=|>=|[-+*/%^<>=(){},@])/y;
  const tokens: Token[] = [];
  let at = 0;
  while (at < expr.length) {
    re.lastIndex = at;
    const m = re.exec(expr);
    if (!m) throw new Error(`PromQL: cannot read "${expr.slice(at, at + 20)}" in ${expr}`);
    at = re.lastIndex;
    if (m[1]) tokens.push({ kind: 'string', text: m[1] });
    else if (m[2]) tokens.push({ kind: 'range', text: m[2] });
    else if (m[3]) tokens.push({ kind: 'ident', text: m[3] });
    else if (m[4]) tokens.push({ kind: 'number', text: m[4] });
    else if (m[5]) tokens.push({ kind: 'op', text: m[5] });
  }
  return tokens;
}

const unquote = (s: string) => (s.startsWith('`') ? s.slice(1, -1) : s.slice(1, -1).replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', t: '\t' })[c] ?? c));

/** Reads `{label op "value", ...}` from the `{` at `start`; returns the index of the closing `}`. */
function readMatchers(tokens: Token[], start: number, into: Matcher[], expr: string): number {
  let i = start + 1;
  while (tokens[i] && tokens[i]!.text !== '}') {
    const [label, op, value] = [tokens[i], tokens[i + 1], tokens[i + 2]];
    if (label?.kind !== 'ident' || !['=', '!=', '=~', '!~'].includes(op?.text ?? '') || value?.kind !== 'string') throw new Error(`PromQL: bad label matcher in ${expr}`);
    into.push({ label: label.text, op: op!.text as Matcher['op'], value: unquote(value.text) });
    i += 3;
    if (tokens[i]?.text === ',') i += 1;
  }
  if (!tokens[i]) throw new Error(`PromQL: unclosed { in ${expr}`);
  return i;
}

function parsePromQL(expr: string): Query {
  const tokens = tokenize(expr);
  const q: Query = { selectors: [], grouping: [], functions: [], aggregated: false };
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.text === '(') depth += 1;
    if (t.text === ')') depth -= 1;
    if (depth < 0) throw new Error(`PromQL: unbalanced ) in ${expr}`);
    if (t.kind === 'op' && t.text === '{') {
      // a selector without a metric name: {__name__="..."}
      const sel: Selector = { metric: '', matchers: [] };
      i = readMatchers(tokens, i, sel.matchers, expr);
      sel.metric = sel.matchers.find((m) => m.label === '__name__' && m.op === '=')?.value ?? '';
      q.selectors.push(sel);
      continue;
    }
    if (t.kind !== 'ident') continue;
    const word = t.text.toLowerCase();
    const next = tokens[i + 1];
    if (GROUPING.has(word)) {
      if (next?.text === '(') {
        for (i += 2; tokens[i] && tokens[i]!.text !== ')'; i++) if (tokens[i]!.kind === 'ident') q.grouping.push(tokens[i]!.text);
      }
      continue;
    }
    if (KEYWORDS.has(word)) continue;
    if (AGGREGATORS.has(t.text)) {
      q.functions.push(t.text);
      q.aggregated = true;
      continue;
    }
    if (next?.text === '(') {
      q.functions.push(t.text);
      continue;
    }
    const sel: Selector = { metric: t.text, matchers: [] };
    if (next?.text === '{') i = readMatchers(tokens, i + 1, sel.matchers, expr);
    q.selectors.push(sel);
  }
  if (depth !== 0) throw new Error(`PromQL: unbalanced ( in ${expr}`);
  return q;
}

/** Grafana variable queries: label_values(<expr>, <label>) reads <expr> and groups by <label>. */
function parseGrafanaQuery(query: string): Query {
  const m = /^\s*label_values\(([\s\S]*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$/.exec(query);
  if (!m) return parsePromQL(query);
  const q = parsePromQL(m[1]!);
  return { ...q, grouping: [...q.grouping, m[2]!], aggregated: true };
}

interface Use {
  where: string;
  expr: string;
  query: Query;
}

const alertRules: Json[] = (alerts.groups ?? []).flatMap((g: Json) => g.rules ?? []);
const alertUses: Use[] = alertRules.map((r) => ({ where: `alert ${r.alert ?? r.record}`, expr: String(r.expr), query: parsePromQL(String(r.expr)) }));

const contentPanels = (panels: Json[]): Json[] => panels.flatMap((p) => (p.type === 'row' ? contentPanels(p.panels ?? []) : [p]));
const panels = contentPanels(dashboard.panels ?? []);
const variables: Json[] = dashboard.templating?.list ?? [];
const dashboardUses: Use[] = [
  ...panels.flatMap((p) => (p.targets ?? []).map((t: Json) => ({ where: `panel "${p.title}" ${t.refId}`, expr: String(t.expr), query: parsePromQL(String(t.expr)) }))),
  // Grafana keeps a query variable's query twice (the query and its display `definition`): read both.
  ...variables
    .filter((v) => v.type === 'query')
    .flatMap((v) => [...new Set([typeof v.query === 'string' ? v.query : v.query?.query, v.definition].filter((x): x is string => typeof x === 'string'))])
    .map((expr, i) => ({ where: `variable query ${i + 1}`, expr, query: parseGrafanaQuery(expr) })),
];
const allUses = [...alertUses, ...dashboardUses];

// ---- the Prometheus side ------------------------------------------------------------------------------

/** Series Prometheus writes itself for every target (not exported by a service). */
const SYNTHETIC = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added', 'ALERTS', 'ALERTS_FOR_STATE']);
const scrapeJobs: Json[] = prometheus.scrape_configs ?? [];
const jobNames: string[] = scrapeJobs.map((j) => j.job_name);
/** Labels Prometheus attaches to every series of a target: job, instance, static labels, relabelled ones. */
const targetLabels = new Set<string>([
  'job',
  'instance',
  ...scrapeJobs.flatMap((j) => (j.static_configs ?? []).flatMap((s: Json) => Object.keys(s.labels ?? {}))),
  ...scrapeJobs.flatMap((j) => (j.relabel_configs ?? []).map((r: Json) => r.target_label).filter((l: unknown): l is string => typeof l === 'string' && !l.startsWith('__'))),
]);

interface RelabelConfig {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  target_label?: string;
  replacement?: string;
  action?: string;
}

/** Prometheus relabelling (keep, drop, replace, labelmap, labeldrop, labelkeep); undefined = dropped. */
function relabel(labels: Record<string, string>, configs: RelabelConfig[]): Record<string, string> | undefined {
  let out = { ...labels };
  for (const c of configs) {
    const regex = new RegExp(`^(?:${c.regex ?? '(.*)'})$`);
    const value = (c.source_labels ?? []).map((l) => out[l] ?? '').join(c.separator ?? ';');
    const action = c.action ?? 'replace';
    const expand = (m: RegExpExecArray) => (c.replacement ?? '$1').replace(/\$\{?(\d+)\}?/g, (_x, n: string) => m[Number(n)] ?? '');
    if (action === 'keep' && !regex.test(value)) return undefined;
    if (action === 'drop' && regex.test(value)) return undefined;
    if (action === 'replace') {
      const m = regex.exec(value);
      if (m) {
        const v = expand(m);
        if (v === '') delete out[c.target_label!];
        else out[c.target_label!] = v;
      }
    }
    if (action === 'labelmap') {
      for (const [k, v] of Object.entries(out)) {
        const m = regex.exec(k);
        if (m) out[expand(m)] = v;
      }
    }
    if (action === 'labeldrop') out = Object.fromEntries(Object.entries(out).filter(([k]) => !regex.test(k)));
    if (action === 'labelkeep') out = Object.fromEntries(Object.entries(out).filter(([k]) => regex.test(k)));
    if (!['keep', 'drop', 'replace', 'labelmap', 'labeldrop', 'labelkeep'].includes(action)) throw new Error(`relabel action ${action} is not simulated here`);
  }
  return out;
}

const sanitize = (name: string) => name.replace(/[^a-zA-Z0-9_]/g, '_');

/** What kubernetes_sd_configs role `pod` discovers for the pods of the manifests' workloads (one target per container port). */
function discoveredPodTargets(): Array<{ workload: string; kind: string; labels: Record<string, string> }> {
  const out: Array<{ workload: string; kind: string; labels: Record<string, string> }> = [];
  for (const w of workloads(loadManifests())) {
    const template = w.kind === 'CronJob' ? w.spec?.jobTemplate?.spec?.template : w.spec?.template;
    const podLabels: Record<string, string> = template?.metadata?.labels ?? {};
    const base: Record<string, string> = {
      __meta_kubernetes_namespace: w.metadata?.namespace ?? 'default',
      __meta_kubernetes_pod_name: `${w.metadata.name}-0`,
      __meta_kubernetes_pod_phase: 'Running',
      __metrics_path__: '/metrics',
      __scheme__: 'http',
    };
    for (const [k, v] of Object.entries(podLabels)) {
      base[`__meta_kubernetes_pod_label_${sanitize(k)}`] = String(v);
      base[`__meta_kubernetes_pod_labelpresent_${sanitize(k)}`] = 'true';
    }
    for (const c of [...(podSpecOf(w)?.containers ?? []), ...(podSpecOf(w)?.initContainers ?? [])]) {
      const ports: Json[] = c.ports?.length ? c.ports : [undefined];
      for (const p of ports) {
        out.push({
          workload: w.metadata.name,
          kind: w.kind,
          labels: {
            ...base,
            __address__: p ? `10.1.2.3:${p.containerPort}` : '10.1.2.3',
            __meta_kubernetes_pod_container_name: c.name,
            __meta_kubernetes_pod_container_port_name: p?.name ?? '',
            __meta_kubernetes_pod_container_port_number: p ? String(p.containerPort) : '',
            __meta_kubernetes_pod_container_port_protocol: p ? (p.protocol ?? 'TCP') : '',
          },
        });
      }
    }
  }
  return out;
}

const durationOk = (d: unknown) => typeof d === 'string' && /^(\d+(ms|s|m|h|d|w|y))+$/.test(d);

// ---- exposition format ------------------------------------------------------------------------------

interface Family {
  type: string;
  services: Set<string>;
  labelNames: Set<string>;
}
interface Sample {
  service: string;
  name: string;
  labels: Record<string, string>;
}

function parseExposition(service: string, text: string, families: Map<string, Family>, samples: Sample[]): void {
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const f = families.get(type[1]!) ?? { type: type[2]!, services: new Set<string>(), labelNames: new Set<string>() };
      f.services.add(service);
      families.set(type[1]!, f);
      continue;
    }
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ service, name: m[1]!, labels });
  }
}

/** The family a series name belongs to: itself, or a histogram/summary's _bucket/_sum/_count, or a counter's _total. */
function familyOf(name: string, families: Map<string, Family>): string | undefined {
  if (families.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    const f = name.endsWith(suffix) ? families.get(base) : undefined;
    if (f && (f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket'))) return base;
  }
  if (name.endsWith('_total') && families.get(name.slice(0, -'_total'.length))?.type === 'counter') return name.slice(0, -'_total'.length);
  return undefined;
}

/** Labels a series of `name` can carry: the metric's own, the histogram's `le`, the registries' default `service`, and the target's. */
function labelsOf(name: string, families: Map<string, Family>): Set<string> {
  if (SYNTHETIC.has(name)) return new Set(targetLabels);
  const family = familyOf(name, families);
  const f = family ? families.get(family) : undefined;
  const extra = f?.type === 'histogram' && name.endsWith('_bucket') ? ['le'] : f?.type === 'summary' && name === family ? ['quantile'] : [];
  return new Set([...(f?.labelNames ?? []), ...extra, 'service', ...targetLabels]);
}

/** The metrics a service's main.ts registers on its app's registry besides the HTTP and process ones. */
type Component = 'OutboxRelay' | 'EventConsumer' | 'DeliveryWorker';
function componentsWiredInMain(service: string): Component[] {
  const src = readText(`services/${service}/src/main.ts`);
  const found: Component[] = [];
  for (const m of src.matchAll(/new (OutboxRelay|EventConsumer|DeliveryWorker)\(/g)) {
    let depth = 1;
    let i = m.index! + m[0].length;
    for (; i < src.length && depth > 0; i++) depth += src[i] === '(' ? 1 : src[i] === ')' ? -1 : 0;
    if (/\bregistry\s*:/.test(src.slice(m.index!, i))) found.push(m[1] as Component);
  }
  return found.sort();
}

// ---- static checks ----------------------------------------------------------------------------------

describe('monitoring: Prometheus scrape config', () => {
  it('when prometheus.yml is read, then its rule files exist next to it and its intervals are valid', () => {
    expect(durationOk(prometheus.global?.scrape_interval)).toBe(true);
    expect(durationOk(prometheus.global?.evaluation_interval)).toBe(true);
    const ruleFiles: string[] = prometheus.rule_files ?? [];
    expect(ruleFiles).toContain(path.basename(ALERTS_FILE));
    for (const f of ruleFiles) expect({ f, exists: existsSync(rel(MONITORING, f)) }).toEqual({ f, exists: true });
  });

  it('when the scrape jobs are read, then names are unique and each scrapes /metrics over http', () => {
    expect(new Set(jobNames).size).toBe(jobNames.length);
    for (const j of scrapeJobs) expect({ job: j.job_name, path: j.metrics_path ?? '/metrics', scheme: j.scheme ?? 'http' }).toEqual({ job: j.job_name, path: '/metrics', scheme: 'http' });
  });

  it('when the compose job is read, then it scrapes exactly the services by compose name on their ports, labelled with their name', () => {
    const compose = loadCompose();
    const targets = scrapeJobs.flatMap((j) => (j.static_configs ?? []).flatMap((s: Json) => (s.targets ?? []).map((t: string) => ({ target: t, labels: s.labels ?? {} }))));
    expect(targets.map((t) => t.target.split(':')[0]).sort()).toEqual(serviceNames);
    for (const { target, labels } of targets) {
      const [host, port] = target.split(':');
      const svc = services.find((s) => s.name === host)!;
      const composePort = interpolate(rawEnvironment(compose.services?.[host!]).PORT);
      expect({ target, port: Number(port), composePort, service: labels.service }).toEqual({ target, port: svc.port, composePort: String(svc.port), service: host });
    }
  });

  it('when the Kubernetes job relabels the pods of infrastructure/kubernetes/, then it keeps exactly one target per service, on its http port, labelled with its name', () => {
    const k8sJobs = scrapeJobs.filter((j) => j.kubernetes_sd_configs);
    expect(k8sJobs).toHaveLength(1);
    const job = k8sJobs[0]!;
    for (const sd of job.kubernetes_sd_configs) {
      expect(sd.role).toBe('pod');
      expect(sd.namespaces?.names).toEqual([NAMESPACE]);
    }
    const kept = discoveredPodTargets()
      .map((t) => ({ ...t, out: relabel(t.labels, job.relabel_configs ?? []) }))
      .filter((t) => t.out);
    expect(kept.map((t) => t.workload).sort()).toEqual(serviceNames);
    for (const t of kept) {
      const svc = services.find((s) => s.name === t.workload)!;
      expect({ workload: t.workload, kind: t.kind, address: t.out!.__address__, service: t.out!.service, namespace: t.out!.namespace }).toEqual({
        workload: svc.name,
        kind: 'Deployment',
        address: `10.1.2.3:${svc.port}`,
        service: svc.name,
        namespace: NAMESPACE,
      });
    }
  });

  it('when a pod is not running, then the Kubernetes job does not scrape it', () => {
    const job = scrapeJobs.find((j) => j.kubernetes_sd_configs)!;
    const t = discoveredPodTargets().find((x) => x.workload === serviceNames[0] && x.labels.__meta_kubernetes_pod_container_port_name === 'http')!;
    expect(relabel(t.labels, job.relabel_configs)).toBeDefined();
    for (const phase of ['Pending', 'Succeeded', 'Failed']) expect(relabel({ ...t.labels, __meta_kubernetes_pod_phase: phase }, job.relabel_configs)).toBeUndefined();
  });
});

describe('monitoring: alert rules', () => {
  it('when alerts.yml is read, then it has rule groups with unique names, and alerts with unique names and an expression', () => {
    const groups: Json[] = alerts.groups ?? [];
    expect(groups.length).toBeGreaterThan(0);
    expect(new Set(groups.map((g) => g.name)).size).toBe(groups.length);
    const names = alertRules.map((r) => r.alert);
    expect(names.every((n) => typeof n === 'string' && /^[A-Z][A-Za-z0-9]+$/.test(n))).toBe(true);
    expect(new Set(names).size).toBe(names.length);
    for (const r of alertRules) {
      expect({ alert: r.alert, expr: typeof r.expr === 'string' && r.expr.trim().length > 0 }).toEqual({ alert: r.alert, expr: true });
      if (r.for !== undefined) expect({ alert: r.alert, for: durationOk(r.for) }).toEqual({ alert: r.alert, for: true });
    }
  });

  it('when every alert is read, then it has a severity label (critical or warning) and a summary annotation', () => {
    for (const r of alertRules) {
      expect({ alert: r.alert, severity: ['critical', 'warning', 'info'].includes(r.labels?.severity) }).toEqual({ alert: r.alert, severity: true });
      expect({ alert: r.alert, summary: typeof r.annotations?.summary === 'string' && r.annotations.summary.trim().length > 0 }).toEqual({ alert: r.alert, summary: true });
    }
  });

  it('when the annotations use $labels.<name>, then the expression keeps that label', () => {
    for (const { where, query } of alertUses) {
      const rule = alertRules.find((r) => `alert ${r.alert}` === where)!;
      const text = Object.values(rule.annotations ?? {}).join('\n');
      for (const m of text.matchAll(/\$labels\.([A-Za-z_][A-Za-z0-9_]*)/g)) {
        // After an aggregation only the grouping labels are left; a plain selector keeps its target labels.
        const kept = query.aggregated ? query.grouping.includes(m[1]!) : targetLabels.has(m[1]!) || query.selectors.some((s) => s.matchers.some((x) => x.label === m[1]));
        expect({ where, label: m[1], kept }).toEqual({ where, label: m[1], kept: true });
      }
    }
  });

  it.each([
    ['service down', (q: Query) => q.selectors.some((s) => s.metric === 'up')],
    ['5xx error rate', (q: Query) => q.selectors.some((s) => s.metric.startsWith('http_request_duration_seconds') && s.matchers.some((m) => m.label === 'status_code' && m.value.startsWith('5')))],
    ['checkout p99 latency', (q: Query) => q.functions.includes('histogram_quantile') && q.selectors.some((s) => s.matchers.some((m) => m.label === 'route' && m.value === '/api/v1/transactions'))],
    ['outbox backlog', (q: Query) => q.selectors.some((s) => s.metric === 'outbox_backlog')],
    ['consumer lag', (q: Query) => q.selectors.some((s) => s.metric === 'events_consumer_lag')],
    ['notification failures', (q: Query) => q.selectors.some((s) => s.metric === 'notification_delivery_attempts_total' && s.matchers.some((m) => m.value === 'failed'))],
    ['payment declines', (q: Query) => q.selectors.some((s) => s.matchers.some((m) => m.label === 'type' && m.value === 'payment.failed'))],
  ])('when the rules are searched, then one alerts on %s', (_topic, matches) => {
    expect(alertUses.some((u) => matches(u.query))).toBe(true);
  });

  it('when the checkout latency alert is read, then it compares the p99 of POST /api/v1/transactions at transaction-service with 1 second', () => {
    const use = alertUses.find((u) => u.query.selectors.some((s) => s.matchers.some((m) => m.label === 'route' && m.value === '/api/v1/transactions')))!;
    expect(use.expr).toMatch(/histogram_quantile\(\s*0\.99\b/);
    expect(use.expr).toMatch(/\)\s*>\s*1\s*$/);
    const sel = use.query.selectors[0]!;
    expect(sel.matchers).toEqual(expect.arrayContaining([{ label: 'service', op: '=', value: 'transaction-service' }, { label: 'method', op: '=', value: 'POST' }]));
  });
});

describe('monitoring: Grafana dashboard and provisioning', () => {
  it('when pos.json is read, then it is a dashboard with a uid, unique panel ids and panels inside the 24-column grid', () => {
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(typeof dashboard.title).toBe('string');
    expect(dashboard.id ?? null).toBeNull();
    const all: Json[] = [...(dashboard.panels ?? []), ...(dashboard.panels ?? []).flatMap((p: Json) => p.panels ?? [])];
    const ids = all.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of all) expect({ panel: p.title, fits: p.gridPos.x >= 0 && p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24 && p.gridPos.h > 0 }).toEqual({ panel: p.title, fits: true });
  });

  it('when the panels are read, then each queries Prometheus through the $datasource variable, which defaults to the provisioned data source', () => {
    const dsVar = variables.find((v) => v.type === 'datasource');
    expect(dsVar).toMatchObject({ name: 'datasource', query: 'prometheus' });
    const provisioned: Json[] = datasources.datasources ?? [];
    expect(datasources.apiVersion).toBe(1);
    expect(provisioned).toHaveLength(1);
    expect(provisioned[0]).toMatchObject({ type: 'prometheus', access: 'proxy' });
    expect(dsVar.current?.value).toBe(provisioned[0].uid);
    // $__rate_interval needs Grafana to know the scrape interval.
    expect(provisioned[0].jsonData?.timeInterval).toBe(prometheus.global.scrape_interval);
    expect(panels.length).toBeGreaterThan(0);
    for (const p of panels) {
      expect({ panel: p.title, ds: p.datasource }).toEqual({ panel: p.title, ds: { type: 'prometheus', uid: '${datasource}' } });
      expect({ panel: p.title, targets: (p.targets ?? []).length > 0 }).toEqual({ panel: p.title, targets: true });
      for (const t of p.targets) expect({ panel: p.title, refId: t.refId, expr: typeof t.expr === 'string' && t.expr.length > 0 }).toEqual({ panel: p.title, refId: t.refId, expr: true });
    }
  });

  it('when the query variables are read, then the query and its definition are the same', () => {
    for (const v of variables.filter((x) => x.type === 'query')) {
      expect({ variable: v.name, definition: v.definition }).toEqual({ variable: v.name, definition: typeof v.query === 'string' ? v.query : v.query?.query });
    }
  });

  it.each(['sales per minute', 'checkout p99', 'decline', 'stock-low', 'service up', '5xx', 'outbox backlog', 'consumer lag', 'notification'])(
    'when the panel titles are read, then one shows %s',
    (topic) => {
      expect(panels.some((p) => String(p.title).toLowerCase().includes(topic))).toBe(true);
    },
  );

  it('when the dashboard provider is read, then it loads files from a folder, into the Cloud POS folder', () => {
    expect(dashboardProvider.apiVersion).toBe(1);
    const [provider] = dashboardProvider.providers ?? [];
    expect(provider).toMatchObject({ type: 'file', folder: 'Cloud POS' });
    expect(provider.options?.path).toMatch(/^\//);
  });
});

describe('monitoring: PromQL of alerts and dashboard', () => {
  it('when every expression is tokenised, then each reads at least one series and calls only PromQL functions', () => {
    expect(allUses.length).toBeGreaterThan(10);
    for (const { where, query } of allUses) {
      expect({ where, reads: query.selectors.length > 0 }).toEqual({ where, reads: true });
      expect({ where, unknown: query.functions.filter((f) => !FUNCTIONS.has(f) && !AGGREGATORS.has(f)) }).toEqual({ where, unknown: [] });
    }
  });

  it('when the tokeniser reads known shapes, then it finds metrics, matchers and grouping labels and skips functions, strings and ranges', () => {
    const q = parsePromQL('histogram_quantile(0.99, sum by (le, service) (rate(foo_bucket{a="x,y}", b=~"p\\\\.q|r"}[$__rate_interval] offset 1h))) > bool 1 unless on (a) bar or {__name__="baz"}');
    expect(q.selectors.map((s) => s.metric)).toEqual(['foo_bucket', 'bar', 'baz']);
    expect(q.selectors[0]!.matchers).toEqual([
      { label: 'a', op: '=', value: 'x,y}' },
      { label: 'b', op: '=~', value: 'p\\.q|r' },
    ]);
    expect(q.grouping).toEqual(['le', 'service', 'a']);
    expect(q.functions).toEqual(['histogram_quantile', 'sum', 'rate']);
    expect(parseGrafanaQuery('label_values(up{job="x"}, service)').grouping).toEqual(['service']);
  });
});

// ---- against the running services -------------------------------------------------------------------

interface Running {
  app: Express;
  metrics: Registry;
}

describe('monitoring: every metric used is exported by a service', () => {
  let stack: Stack;
  let customers: CustomersUnderTest;
  let notifications: NotificationsUnderTest;
  let gateway: GatewayApp;
  let gatewayRedis: Redis;
  let eventsRedis: Redis;
  let workerPool: Pool;
  const running = new Map<string, Running>();
  const families = new Map<string, Family>();
  const samples: Sample[] = [];
  const wired = new Map<string, Component[]>();

  /** Metrics of every service as Prometheus would scrape them now. */
  async function scrape(): Promise<void> {
    families.clear();
    samples.length = 0;
    for (const [name, svc] of running) {
      const res = await request(svc.app).get('/metrics').expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      parseExposition(name, res.text, families, samples);
      for (const m of svc.metrics.getMetricsAsArray()) {
        const labelNames = (m as unknown as { labelNames?: string[] }).labelNames ?? [];
        const f = families.get((m as unknown as { name: string }).name);
        labelNames.forEach((l) => f?.labelNames.add(l));
      }
    }
  }

  beforeAll(async () => {
    const logger = createLogger({ service: 'monitoring-test', level: 'error' });
    stack = await startStack();
    customers = await startCustomers(stack.auth.url);
    notifications = await startNotifications({ AUTH_SERVICE_URL: stack.auth.url, CUSTOMER_SERVICE_URL: 'http://127.0.0.1:9' });
    gatewayRedis = testRedis();
    gateway = await buildGateway({ redis: gatewayRedis });
    eventsRedis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1 });
    eventsRedis.on('error', () => undefined);
    workerPool = createPool({ connectionString: process.env.WORKER_DATABASE_URL!, max: 2, applicationName: 'monitoring-test' });

    // The same deps the helpers built, put behind each service's own createApp (which the helpers
    // call too, but without handing out its metrics registry).
    const deps: Record<string, unknown> = {
      'auth-service': stack.auth.svc.deps,
      'inventory-service': stack.inventory.deps,
      'payment-service': (stack.payment as unknown as PaymentsUnderTest).deps,
      'transaction-service': stack.deps,
      'customer-service': customers.deps,
      'notification-service': notifications.deps,
    };
    for (const [name, d] of Object.entries(deps)) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- one module per service
      const { createApp } = require(rel('services', name, 'src', 'app')) as { createApp(deps: unknown): Running };
      running.set(name, createApp(d));
    }
    running.set('api-gateway', gateway);

    // What main.ts adds to the same registry: outbox relays, event consumers, the delivery worker
    // (constructed, not started: constructing registers the metrics).
    for (const svc of services) {
      const registry = running.get(svc.name)?.metrics;
      const components = componentsWiredInMain(svc.name);
      wired.set(svc.name, components);
      if (!registry) continue;
      for (const c of components) {
        if (c === 'OutboxRelay') new OutboxRelay({ pool: workerPool, redis: eventsRedis, schema: svc.schema!, service: svc.name, logger, registry });
        if (c === 'EventConsumer') new EventConsumer({ redis: eventsRedis, pool: workerPool, schema: svc.schema!, group: svc.name, streams: [], handlers: {}, logger, registry });
        if (c === 'DeliveryWorker') {
          const d = notifications.deps;
          new DeliveryWorker({ pool: workerPool, config: d.config, email: d.email, sms: d.sms, push: d.push, contacts: d.contacts, logger, registry });
        }
      }
    }

    // Requests the dashboard and alerts filter on (route and method), so their samples exist.
    for (const svc of running.values()) await request(svc.app).get('/health');
    for (const { service, method, route } of routesUsed()) {
      for (const [name, svc] of running) {
        if (service && service !== name) continue;
        await request(svc.app)[method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete'](route.replace(/:[A-Za-z]+/g, '00000000-0000-4000-8000-000000000000'));
      }
    }
    await scrape();
  }, 120_000);

  afterAll(async () => {
    gateway?.close();
    await Promise.allSettled([gatewayRedis?.quit(), eventsRedis?.quit(), workerPool?.end()]);
    await notifications?.close();
    await customers?.close();
    await stack?.close();
  });

  /** (service, method, route) triples that selectors of the HTTP histogram name. */
  function routesUsed(): Array<{ service?: string; method: string; route: string }> {
    const out = new Map<string, { service?: string; method: string; route: string }>();
    for (const { query } of allUses) {
      for (const s of query.selectors.filter((x) => x.metric.startsWith('http_request_duration_seconds'))) {
        const eq = (l: string) => s.matchers.find((m) => m.label === l && m.op === '=')?.value;
        const route = eq('route');
        if (route) out.set(`${eq('service')} ${eq('method')} ${route}`, { service: eq('service'), method: eq('method') ?? 'GET', route });
      }
    }
    return [...out.values()];
  }

  it('when the services are listed, then every one under services/ was started and serves /metrics with its name as the service label', () => {
    expect([...running.keys()].sort()).toEqual(serviceNames);
    for (const name of serviceNames) {
      const own = samples.filter((s) => s.service === name);
      expect({ name, samples: own.length > 0 }).toEqual({ name, samples: true });
      expect({ name, labels: [...new Set(own.map((s) => s.labels.service))] }).toEqual({ name, labels: [name] });
    }
  });

  it("when the services' main.ts are read, then relays, consumers and the delivery worker are found wired to a registry (and were wired here the same way)", () => {
    // The metric sources below are mirrored from main.ts; if the scan found none, the metrics they
    // register would be missing here for the wrong reason.
    expect([...wired.values()].flat()).toEqual(expect.arrayContaining(['OutboxRelay', 'EventConsumer', 'DeliveryWorker']));
    expect(wired.get('notification-service')).toContain('DeliveryWorker');
  });

  it('when every metric the alerts and the dashboard read is looked up, then some service exports it', () => {
    const missing: string[] = [];
    for (const { where, query } of allUses) {
      for (const s of query.selectors) {
        if (!s.metric) missing.push(`${where}: a selector without a metric name`);
        else if (!SYNTHETIC.has(s.metric) && !familyOf(s.metric, families)) missing.push(`${where}: ${s.metric}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('when the business and HTTP metrics are looked up, then they have the type the queries assume', () => {
    const types = Object.fromEntries(
      ['http_request_duration_seconds', 'events_published_total', 'events_consumed_total', 'events_consumer_lag', 'outbox_backlog', 'notification_delivery_attempts_total', 'process_cpu_seconds_total'].map((n) => [n, families.get(n)?.type]),
    );
    expect(types).toEqual({
      http_request_duration_seconds: 'histogram',
      events_published_total: 'counter',
      events_consumed_total: 'counter',
      events_consumer_lag: 'gauge',
      outbox_backlog: 'gauge',
      notification_delivery_attempts_total: 'counter',
      process_cpu_seconds_total: 'counter',
    });
    // rate()/increase() only make sense on counters and histogram parts.
    for (const { where, expr } of allUses) {
      for (const m of expr.matchAll(/\b(?:rate|irate|increase)\(\s*([A-Za-z_:][A-Za-z0-9_:]*)/g)) {
        const family = familyOf(m[1]!, families);
        const type = family ? families.get(family)!.type : undefined;
        const ok = type === 'counter' || ((type === 'histogram' || type === 'summary') && m[1] !== family);
        expect({ where, metric: m[1], ok }).toEqual({ where, metric: m[1], ok: true });
      }
    }
  });

  it('when the label names in selectors and grouping are checked, then the metrics carry them', () => {
    const wrong: string[] = [];
    for (const { where, query } of allUses) {
      const universe = new Set<string>();
      for (const s of query.selectors) {
        const known = labelsOf(s.metric, families);
        known.forEach((l) => universe.add(l));
        for (const m of s.matchers) if (m.label !== '__name__' && !known.has(m.label)) wrong.push(`${where}: ${s.metric} has no label ${m.label}`);
      }
      for (const l of query.grouping) if (!universe.has(l)) wrong.push(`${where}: grouping by ${l}, which none of its metrics has`);
    }
    expect(wrong).toEqual([]);
  });

  it('when label values with a known set are checked, then each matcher selects real values (services, jobs, event types, outcomes)', () => {
    const consumerSrc = readText('shared/events/src/consumer.ts');
    const consumeOutcomes = [...(/type ConsumeOutcome\s*=([^;]+);/.exec(consumerSrc)?.[1] ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1]!);
    const workerSrc = readText('services/notification-service/src/delivery-worker.ts');
    const deliveryOutcomes = [...workerSrc.matchAll(/outcomes\?\.inc\(\{[^}]*outcome:([^}]*)\}/g)].flatMap((m) => [...m[1]!.matchAll(/'([^']+)'/g)].map((x) => x[1]!));
    expect(consumeOutcomes).toContain('dead-lettered');
    expect(deliveryOutcomes).toEqual(expect.arrayContaining(['sent', 'retry', 'failed']));
    const known = (metric: string, label: string): string[] | undefined => {
      if (label === 'service') return serviceNames;
      if (label === 'job') return jobNames;
      if (label === 'type' && metric === 'events_published_total') return Object.values(EVENTS);
      if (label === 'outcome' && metric === 'events_consumed_total') return consumeOutcomes;
      if (label === 'outcome' && metric === 'notification_delivery_attempts_total') return deliveryOutcomes;
      if (label === 'method') return ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
      return undefined;
    };
    const wrong: string[] = [];
    for (const { where, query } of allUses) {
      for (const s of query.selectors) {
        for (const m of s.matchers) {
          const values = known(s.metric, m.label);
          if (!values || m.op.startsWith('!') || m.value.includes('$')) continue;
          // each alternative of a regex (or the value itself) must match a real value
          const alternatives = m.op === '=~' && !/[()]/.test(m.value) ? m.value.split('|') : [m.value];
          for (const alt of alternatives) {
            const re = m.op === '=~' ? new RegExp(`^(?:${alt})$`) : undefined;
            if (!values.some((v) => (re ? re.test(v) : v === alt))) wrong.push(`${where}: ${s.metric}{${m.label}${m.op}"${alt}"} matches none of ${values.join(', ')}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    // The business events the dashboard counts are produced by the services it filters on.
    const producers: Record<string, string> = { [EVENTS.saleCompleted]: 'transaction-service', [EVENTS.paymentFailed]: 'payment-service', [EVENTS.stockLow]: 'inventory-service' };
    for (const [type, service] of Object.entries(producers)) {
      expect({ type, wired: wired.get(service) }).toEqual({ type, wired: expect.arrayContaining(['OutboxRelay']) });
    }
  });

  it('when the routes the queries filter on are requested, then /metrics has samples with that service, method and route', () => {
    const used = routesUsed();
    expect(used).toEqual(expect.arrayContaining([{ service: 'transaction-service', method: 'POST', route: '/api/v1/transactions' }]));
    for (const { service, method, route } of used) {
      const found = samples.some(
        (s) => s.name === 'http_request_duration_seconds_count' && (!service || s.service === service) && s.labels.method === method && s.labels.route === route,
      );
      expect({ service, method, route, found }).toEqual({ service, method, route, found: true });
    }
  });
});
