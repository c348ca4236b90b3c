// infrastructure/kubernetes/ as `kubectl apply -f infrastructure/kubernetes/` reads it: every
// .yaml/.yml/.json file in the folder (not recursive), each possibly holding several documents.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { type Json, rel, sampleSecret } from './repo';

export const K8S_DIR = 'infrastructure/kubernetes';
export const NAMESPACE = 'cloud-pos';

export interface K8sObject {
  file: string;
  doc: Json;
}

export const manifestFiles = () =>
  readdirSync(rel(K8S_DIR))
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort();

/** Parses every document; throws with file and position on a YAML error. Empty documents are skipped. */
export function loadManifests(): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const file of manifestFiles()) {
    const text = readFileSync(path.join(rel(K8S_DIR), file), 'utf8');
    for (const doc of parseAllDocuments(text, { prettyErrors: true })) {
      if ('errors' in doc && doc.errors.length) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const value = doc.toJS();
      if (value !== null && value !== undefined) objects.push({ file, doc: value });
    }
  }
  return objects;
}

export const objectsOf = (objects: K8sObject[], kind: string) => objects.filter((o) => o.doc.kind === kind).map((o) => o.doc);
export const find = (objects: K8sObject[], kind: string, name: string): Json | undefined =>
  objects.find((o) => o.doc.kind === kind && o.doc.metadata?.name === name)?.doc;

/** The kubernetes-models class for an object's apiVersion and kind (e.g. apps/v1 Deployment). */
export function modelClass(apiVersion: string, kind: string): (new (data: Json) => { validate(): void }) | undefined {
  const modulePath = `kubernetes-models/${apiVersion}`;
  let mod: Record<string, unknown>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module depends on the object's apiVersion
    mod = require(modulePath) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  return mod[kind] as (new (data: Json) => { validate(): void }) | undefined;
}

/** Pod template spec of a workload (Deployment, StatefulSet, Job, DaemonSet). */
export const podSpecOf = (workload: Json): Json => workload?.spec?.template?.spec;
export const workloads = (objects: K8sObject[]) =>
  objects.filter((o) => ['Deployment', 'StatefulSet', 'Job', 'DaemonSet', 'CronJob'].includes(o.doc.kind)).map((o) => o.doc);

// ---- label selectors ------------------------------------------------------------------------------

export function selectorMatches(selector: Json, labels: Record<string, string> = {}): boolean {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const expr of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, expr.key);
    const value = labels[expr.key];
    switch (expr.operator) {
      case 'In':
        if (!has || !expr.values.includes(value)) return false;
        break;
      case 'NotIn':
        if (has && expr.values.includes(value)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw new Error(`unknown selector operator ${expr.operator}`);
    }
  }
  return true;
}

// ---- environment ------------------------------------------------------------------------------------

export type SecretMode = 'template' | 'sample';

/**
 * A container's environment as the kubelet builds it: envFrom (ConfigMaps, Secrets), then env with
 * literal values, configMapKeyRef and secretKeyRef, and $(VAR) expansion of earlier variables.
 * With `sample`, Secret values are stand-ins (the operator's real secrets); with `template`, the
 * template's placeholders. A reference to a missing ConfigMap/Secret key is an error.
 */
export function containerEnv(objects: K8sObject[], namespace: string, container: Json, mode: SecretMode = 'sample'): Record<string, string> {
  const configMap = (name: string) => find(objects, 'ConfigMap', name)?.data as Record<string, string> | undefined;
  const secret = (name: string): Record<string, string> | undefined => {
    const s = find(objects, 'Secret', name);
    if (!s) return undefined;
    const data: Record<string, string> = { ...(s.stringData ?? {}) };
    for (const [k, v] of Object.entries(s.data ?? {})) data[k] = Buffer.from(String(v), 'base64').toString('utf8');
    return mode === 'template' ? data : Object.fromEntries(Object.keys(data).map((k) => [k, sampleSecretIn(data, k)]));
  };
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const source = from.configMapRef ? configMap(from.configMapRef.name) : from.secretRef ? secret(from.secretRef.name) : undefined;
    if (!source) throw new Error(`envFrom references a missing ConfigMap/Secret in ${namespace}`);
    for (const [k, v] of Object.entries(source)) env[`${from.prefix ?? ''}${k}`] = String(v);
  }
  for (const e of container.env ?? []) {
    let value: string;
    if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const v = configMap(ref.name)?.[ref.key];
      if (v === undefined) throw new Error(`${e.name}: ConfigMap ${ref.name} has no key ${ref.key}`);
      value = String(v);
    } else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const v = secret(ref.name)?.[ref.key];
      if (v === undefined) throw new Error(`${e.name}: Secret ${ref.name} has no key ${ref.key}`);
      value = v;
    } else if (e.valueFrom) {
      value = 'field-or-resource-ref';
    } else {
      value = String(e.value ?? '').replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole: string, name?: string) =>
        whole === '$$' ? '$' : name !== undefined && name in env ? env[name]! : whole,
      );
    }
    env[e.name] = value;
  }
  return env;
}

/**
 * Stand-in for one Secret key that keeps the template's internal consistency: a URL keeps its
 * shape and gets the stand-in of the password key whose placeholder it embeds.
 */
function sampleSecretIn(template: Record<string, string>, key: string): string {
  const value = template[key] ?? '';
  let url: URL | undefined;
  try {
    url = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  if (!url) return sampleSecret(key);
  if (url.password) {
    const passwordKey = Object.keys(template).find((k) => k !== key && template[k] === decodeURIComponent(url.password));
    url.password = passwordKey ? sampleSecret(passwordKey) : sampleSecret(key);
  }
  return url.toString();
}

// ---- resources ----------------------------------------------------------------------------------------

/** A Kubernetes quantity in base units (cores, bytes). */
export function quantity(value: string | number): number {
  if (typeof value === 'number') return value;
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(String(value));
  if (!m) throw new Error(`bad quantity ${value}`);
  const n = Number(m[1]);
  const units: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
  const factor = units[m[2]!];
  if (factor === undefined) throw new Error(`bad quantity unit ${value}`);
  return n * factor;
}

// ---- field names ----------------------------------------------------------------------------------------

let knownFields: Set<string> | undefined;

/**
 * Every field name of the Kubernetes API, read from the validators kubernetes-models ships. Its
 * schemas accept unknown fields, so this catches what they do not: a misspelt field
 * (`readinesProbe`) that the API server would drop or reject.
 */
export function kubernetesFieldNames(): Set<string> {
  if (knownFields) return knownFields;
  const names = new Set<string>();
  const dirs = [path.dirname(require.resolve('kubernetes-models/package.json')), path.dirname(require.resolve('@kubernetes-models/apimachinery/package.json'))];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.js')) {
        const text = readFileSync(full, 'utf8');
        for (const m of text.matchAll(/data\.([A-Za-z_$][\w$]*)/g)) names.add(m[1]!);
        for (const m of text.matchAll(/data\["([^"]+)"\]/g)) names.add(m[1]!);
      }
    }
  };
  dirs.forEach(walk);
  knownFields = names;
  return names;
}

/** Keys whose values are free-form maps (names chosen by the user, not API fields). */
const FREE_FORM = new Set(['labels', 'annotations', 'matchLabels', 'data', 'stringData', 'binaryData', 'nodeSelector', 'requests', 'limits', 'capacity', 'hard']);

/** Paths of object keys that are not Kubernetes field names. */
export function unknownFields(node: Json, at = ''): string[] {
  const known = kubernetesFieldNames();
  const out: string[] = [];
  if (Array.isArray(node)) node.forEach((n, i) => out.push(...unknownFields(n, `${at}[${i}]`)));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      const here = at ? `${at}.${key}` : key;
      if (!known.has(key)) out.push(here);
      // A Service's selector is a plain label map; a workload's is a LabelSelector.
      const freeForm = FREE_FORM.has(key) || (key === 'selector' && value && typeof value === 'object' && !('matchLabels' in value) && !('matchExpressions' in value));
      if (!freeForm) out.push(...unknownFields(value, here));
    }
  }
  return out;
}
