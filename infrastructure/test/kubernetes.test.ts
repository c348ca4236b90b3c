// Static validation of infrastructure/kubernetes/ (no cluster here): parsing, the Kubernetes
// schema (kubernetes-models), and what every service's workload must look like. Services are
// discovered from services/*, so a new service fails here until it has its manifests.
import { readdirSync } from 'node:fs';
import { loadCompose } from './support/compose';
import {
  K8S_DIR,
  NAMESPACE,
  find,
  loadManifests,
  manifestFiles,
  modelClass,
  objectsOf,
  podSpecOf,
  quantity,
  selectorMatches,
  unknownFields,
  workloads,
  type K8sObject,
} from './support/kubernetes';
import { discoverServices, imageName, imageTag, readText, rel, type Json } from './support/repo';

const services = discoverServices();
const objects: K8sObject[] = loadManifests();
const MISSING = (what: string, name: string) =>
  new Error(`no ${what} for service ${name} in infrastructure/kubernetes/: every folder under services/ needs its manifests (docs/deployment.md, "Adding a service")`);
const deployment = (name: string): Json => {
  const d = find(objects, 'Deployment', name);
  if (!d) throw MISSING('Deployment', name);
  return d;
};
const containerOf = (name: string): Json => {
  const c = podSpecOf(deployment(name))?.containers?.find((x: Json) => x.name === name);
  if (!c) throw MISSING(`container named ${name} in the Deployment`, name);
  return c;
};
/** HPA-managed services must be autoscaled: the gateway, and transaction-service once it exists. */
const AUTOSCALED = ['api-gateway', 'transaction-service'];
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume', 'StorageClass', 'IngressClass', 'PriorityClass', 'CustomResourceDefinition']);

describe('Kubernetes manifests: files and schema', () => {
  it('when the folder is listed, then it holds YAML manifests only (kubectl apply -f applies every file in it)', () => {
    const all = readdirSync(rel(K8S_DIR));
    expect(all.filter((f) => !/\.(ya?ml|json)$/.test(f))).toEqual([]);
    expect(manifestFiles().length).toBeGreaterThan(0);
  });

  it('when every file is parsed, then each document is a Kubernetes object with apiVersion, kind and metadata.name', () => {
    expect(objects.length).toBeGreaterThan(0);
    for (const { file, doc } of objects) {
      expect({ file, ok: typeof doc.apiVersion === 'string' && typeof doc.kind === 'string' && typeof doc.metadata?.name === 'string' }).toEqual({ file, ok: true });
    }
  });

  it('when the namespace is applied first, then every namespaced object lives in it and no two objects share kind and name', () => {
    const ns = objects.find((o) => o.doc.kind === 'Namespace' && o.doc.metadata.name === NAMESPACE);
    expect(ns).toBeDefined();
    // kubectl applies files in name order: the Namespace must come before everything in it.
    expect(manifestFiles()[0]).toBe(ns!.file);
    for (const { file, doc } of objects.filter((o) => !CLUSTER_SCOPED.has(o.doc.kind))) {
      expect({ file, kind: doc.kind, name: doc.metadata.name, namespace: doc.metadata.namespace }).toEqual({ file, kind: doc.kind, name: doc.metadata.name, namespace: NAMESPACE });
    }
    const keys = objects.map((o) => `${o.doc.kind}/${o.doc.metadata.name}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });

  it.each(objects.map((o) => [`${o.file}: ${o.doc.kind}/${o.doc.metadata?.name}`, o] as const))(
    'when %s is checked against the Kubernetes schema, then it validates',
    (_label, { doc }) => {
      const Model = modelClass(doc.apiVersion, doc.kind);
      expect({ apiVersion: doc.apiVersion, kind: doc.kind, known: Boolean(Model) }).toEqual({ apiVersion: doc.apiVersion, kind: doc.kind, known: true });
      expect(() => new Model!(doc).validate()).not.toThrow();
    },
  );

  it('when field names are compared with the Kubernetes API, then none is misspelt', () => {
    const bad = objects.flatMap(({ file, doc }) => unknownFields(doc).map((p) => `${file} ${doc.kind}/${doc.metadata.name}: ${p}`));
    expect(bad).toEqual([]);
  });

  it('when every object is listed, then each carries the app.kubernetes.io/part-of=cloud-pos label', () => {
    const missing = objects.filter((o) => o.doc.metadata.labels?.['app.kubernetes.io/part-of'] !== 'cloud-pos').map((o) => `${o.doc.kind}/${o.doc.metadata.name}`);
    expect(missing).toEqual([]);
  });
});

describe.each(services.map((s) => [s.name, s] as const))('Kubernetes: service %s', (name, svc) => {
  it('when its Deployment is read, then it exists, runs the service image tagged with the release version and 2+ replicas', () => {
    const d = deployment(name);
    expect(containerOf(name)?.image).toBe(`${imageName(name)}:${imageTag()}`);
    const hpa = objectsOf(objects, 'HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef?.kind === 'Deployment' && h.spec.scaleTargetRef?.name === name);
    // With an HPA the Deployment leaves `replicas` to it (re-applying must not reset the count).
    if (hpa) {
      expect(d.spec.replicas).toBeUndefined();
      expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    } else {
      expect(d.spec.replicas).toBeGreaterThanOrEqual(2);
    }
    expect(d.spec.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
  });

  it('when its pod template is read, then the selector matches it and it is labelled as a service', () => {
    const d = deployment(name);
    const labels = d.spec.template.metadata.labels;
    expect(selectorMatches(d.spec.selector, labels)).toBe(true);
    expect(labels).toMatchObject({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/component': 'service', 'app.kubernetes.io/part-of': 'cloud-pos' });
  });

  it(`when its container is read, then it listens on the package.json port ${svc.port} as "http"`, () => {
    expect(containerOf(name).ports).toEqual([{ name: 'http', containerPort: svc.port }]);
  });

  it('when its probes are read, then readiness is GET /ready, liveness and startup GET /health, on the http port', () => {
    const c = containerOf(name);
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/ready', port: 'http' });
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(c.startupProbe?.httpGet).toEqual({ path: '/health', port: 'http' });
  });

  it('when its security settings are read, then it runs non-root with a read-only root filesystem, no privileges, and a writable /tmp only', () => {
    const pod = podSpecOf(deployment(name));
    const c = containerOf(name);
    expect(pod.securityContext.runAsNonRoot || c.securityContext.runAsNonRoot).toBe(true);
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(pod.securityContext.seccompProfile?.type ?? c.securityContext.seccompProfile?.type).toBe('RuntimeDefault');
    expect(pod.automountServiceAccountToken).toBe(false);
    const tmp = c.volumeMounts?.find((m: Json) => m.mountPath === '/tmp');
    expect(pod.volumes?.find((v: Json) => v.name === tmp?.name)?.emptyDir).toBeDefined();
  });

  it('when its resources are read, then CPU and memory have requests no larger than limits', () => {
    const { requests, limits } = containerOf(name).resources ?? {};
    for (const r of ['cpu', 'memory']) {
      expect({ r, request: requests?.[r] !== undefined, limit: limits?.[r] !== undefined }).toEqual({ r, request: true, limit: true });
      expect(quantity(requests[r])).toBeLessThanOrEqual(quantity(limits[r]));
    }
  });

  it('when it is stopped, then it has time to drain (grace period > preStop delay + 10 s drain)', () => {
    const pod = podSpecOf(deployment(name));
    const preStop = containerOf(name).lifecycle?.preStop?.exec?.command;
    expect(preStop?.[0]).toBe('sleep');
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(Number(preStop[1]) + 10);
  });

  it(`when its Service is read, then it is a ClusterIP on port ${svc.port} selecting its pods`, () => {
    const s = find(objects, 'Service', name);
    if (!s) throw MISSING('Service', name);
    expect(s.spec.type ?? 'ClusterIP').toBe('ClusterIP');
    expect(s.spec.ports).toEqual([{ name: 'http', port: svc.port, targetPort: 'http' }]);
    expect(selectorMatches({ matchLabels: s.spec.selector }, deployment(name).spec.template.metadata.labels)).toBe(true);
  });

  it('when its PodDisruptionBudget is read, then it selects its pods and lets at least one stay up', () => {
    const pdb = objectsOf(objects, 'PodDisruptionBudget').find((p) => selectorMatches(p.spec.selector, deployment(name).spec.template.metadata.labels));
    expect(pdb).toBeDefined();
    expect(pdb.spec.maxUnavailable === 1 || pdb.spec.minAvailable >= 1).toBe(true);
  });

  it('when the autoscaled services are listed, then this one has an HPA if it is one of them', () => {
    const hpa = objectsOf(objects, 'HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef?.name === name);
    if (AUTOSCALED.includes(name)) {
      expect(hpa).toBeDefined();
      expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
      expect(hpa.spec.metrics?.length).toBeGreaterThan(0);
    }
  });
});

describe('Kubernetes: cluster-level objects', () => {
  it('when the HPAs are read, then each targets an existing Deployment with 2+ minimum replicas', () => {
    const hpas = objectsOf(objects, 'HorizontalPodAutoscaler');
    expect(hpas.length).toBeGreaterThan(0);
    for (const h of hpas) {
      expect(h.spec.scaleTargetRef).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment' });
      expect(find(objects, 'Deployment', h.spec.scaleTargetRef.name)).toBeDefined();
      expect(h.spec.minReplicas).toBeGreaterThanOrEqual(2);
    }
  });

  it('when every Deployment is listed, then each belongs to a service folder (no stale manifests)', () => {
    const names = services.map((s) => s.name);
    expect(objectsOf(objects, 'Deployment').map((d) => d.metadata.name).filter((n) => !names.includes(n))).toEqual([]);
  });

  it('when every pod template is read, then it meets the restricted Pod Security Standard the namespace enforces', () => {
    const ns = find(objects, 'Namespace', NAMESPACE);
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const w of workloads(objects)) {
      const pod = podSpecOf(w);
      const label = `${w.kind}/${w.metadata.name}`;
      expect({ label, hostNetwork: pod.hostNetwork ?? false, hostPID: pod.hostPID ?? false, hostIPC: pod.hostIPC ?? false }).toEqual({ label, hostNetwork: false, hostPID: false, hostIPC: false });
      expect({ label, hostPath: (pod.volumes ?? []).some((v: Json) => v.hostPath) }).toEqual({ label, hostPath: false });
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        const sc = c.securityContext ?? {};
        expect({
          label,
          container: c.name,
          nonRoot: Boolean(sc.runAsNonRoot ?? pod.securityContext?.runAsNonRoot) && (sc.runAsUser ?? pod.securityContext?.runAsUser) !== 0,
          privileged: sc.privileged ?? false,
          escalation: sc.allowPrivilegeEscalation,
          drop: sc.capabilities?.drop,
          add: sc.capabilities?.add ?? [],
          seccomp: sc.seccompProfile?.type ?? pod.securityContext?.seccompProfile?.type,
          readOnlyRoot: sc.readOnlyRootFilesystem,
          limits: Boolean(c.resources?.limits?.memory && c.resources?.limits?.cpu),
        }).toEqual({ label, container: c.name, nonRoot: true, privileged: false, escalation: false, drop: ['ALL'], add: [], seccomp: 'RuntimeDefault', readOnlyRoot: true, limits: true });
      }
    }
  });

  it('when the Ingress is read, then it routes only to the api-gateway over TLS, and not to /metrics or /ready', () => {
    const ingresses = objectsOf(objects, 'Ingress');
    expect(ingresses.length).toBeGreaterThan(0);
    for (const ing of ingresses) {
      expect(ing.spec.tls?.length).toBeGreaterThan(0);
      expect(ing.spec.defaultBackend).toBeUndefined();
      const paths = ing.spec.rules.flatMap((r: Json) => r.http.paths);
      expect(paths.length).toBeGreaterThan(0);
      for (const p of paths) expect(p.backend.service.name).toBe('api-gateway');
      const exposes = (url: string) =>
        paths.some((p: Json) => (p.pathType === 'Exact' ? url === p.path : url === p.path || url.startsWith(`${p.path.replace(/\/$/, '')}/`)));
      expect(exposes('/api/v1/transactions')).toBe(true);
      expect(exposes('/api-docs')).toBe(true);
      expect(exposes('/.well-known/jwks.json')).toBe(true);
      expect(exposes('/metrics')).toBe(false);
      expect(exposes('/ready')).toBe(false);
    }
  });

  it('when the migration Job is read, then it runs scripts/migrate.mjs from the migrate image as the schema owner', () => {
    const jobs = objectsOf(objects, 'Job');
    expect(jobs).toHaveLength(1);
    const job = jobs[0];
    const c = podSpecOf(job).containers[0];
    expect(c.image).toBe(`${imageName('migrate')}:${imageTag()}`);
    expect([...(c.command ?? []), ...(c.args ?? [])].join(' ')).toContain('scripts/migrate.mjs');
    expect(['Never', 'OnFailure']).toContain(podSpecOf(job).restartPolicy);
    expect(job.spec.backoffLimit).toBeGreaterThan(0);
    const envNames = (c.env ?? []).map((e: Json) => e.name);
    expect(envNames).toEqual(expect.arrayContaining(['NODE_ENV', 'DATABASE_ADMIN_URL', 'DB_APP_PASSWORD', 'DB_WORKER_PASSWORD']));
    // A Job's template is immutable: the name carries the release so a new release is a new Job.
    expect(job.metadata.name).toBe(`migrate-${imageTag().replace(/[^a-z0-9]+/gi, '-')}`);
  });

  describe.each([
    ['postgres', 5432, 'postgres'],
    ['redis', 6379, 'redis'],
    ['mongo', 27017, 'mongo'],
  ] as const)('datastore %s', (name, port, composeName) => {
    it(`when its StatefulSet is read, then it has a persistent volume claim template, a headless Service on ${port} and the compose image`, () => {
      const sts = find(objects, 'StatefulSet', name);
      expect(sts).toBeDefined();
      expect(sts.spec.volumeClaimTemplates?.length).toBeGreaterThan(0);
      const svc = find(objects, 'Service', sts.spec.serviceName);
      expect(svc?.spec.clusterIP).toBe('None');
      expect(svc.spec.ports.map((p: Json) => p.port)).toEqual([port]);
      expect(selectorMatches({ matchLabels: svc.spec.selector }, sts.spec.template.metadata.labels)).toBe(true);
      const c = podSpecOf(sts).containers[0];
      expect(c.image).toBe(loadCompose().services[composeName].image);
      const dataMount = c.volumeMounts.find((m: Json) => m.name === sts.spec.volumeClaimTemplates[0].metadata.name);
      expect(dataMount).toBeDefined();
      expect(c.readinessProbe).toBeDefined();
      expect(c.livenessProbe).toBeDefined();
    });
  });

  it('when Redis is read, then AOF persistence is on and eviction is off (it carries the event streams)', () => {
    const args = podSpecOf(find(objects, 'StatefulSet', 'redis')).containers[0].args.join(' ');
    expect(args).toMatch(/--appendonly yes/);
    expect(args).toMatch(/--maxmemory-policy noeviction/);
    expect(args).toMatch(/--requirepass \$\(REDIS_PASSWORD\)/);
  });
});

describe('Kubernetes: configuration and secrets', () => {
  const secrets = objectsOf(objects, 'Secret');
  const template = () => secrets.find((s) => s.metadata.name === 'pos-secrets');

  it('when the Secret template is read, then every value is a placeholder (no real secret is committed)', () => {
    expect(template()).toBeDefined();
    for (const s of secrets) {
      expect(s.data ?? {}).toEqual({});
      for (const [key, value] of Object.entries(s.stringData ?? {})) expect({ key, placeholder: String(value).includes('REPLACE_ME') }).toEqual({ key, placeholder: true });
    }
    expect(readText('infrastructure/kubernetes/02-secret.template.yaml')).toMatch(/TEMPLATE/);
  });

  it('when the Secret template is read, then each URL embeds the placeholder of its own password key', () => {
    const data: Record<string, string> = template().stringData;
    const expectations: [string, string, string][] = [
      ['DATABASE_ADMIN_URL', 'postgres', 'POSTGRES_PASSWORD'],
      ['DATABASE_URL', 'pos_app', 'DB_APP_PASSWORD'],
      ['WORKER_DATABASE_URL', 'pos_worker', 'DB_WORKER_PASSWORD'],
      ['REDIS_URL', '', 'REDIS_PASSWORD'],
      ['MONGODB_URI', 'pos', 'MONGO_ROOT_PASSWORD'],
    ];
    for (const [urlKey, user, passwordKey] of expectations) {
      const url = new URL(data[urlKey]!);
      expect({ urlKey, user: url.username, password: decodeURIComponent(url.password) }).toEqual({ urlKey, user, password: data[passwordKey] });
    }
    const config = find(objects, 'ConfigMap', 'pos-config').data;
    expect(new URL(data.DATABASE_URL!).username).toBe(config.DB_APP_ROLE);
    expect(new URL(data.WORKER_DATABASE_URL!).username).toBe(config.DB_WORKER_ROLE);
  });

  it('when every secretKeyRef and configMapKeyRef is followed, then the key exists', () => {
    const missing: string[] = [];
    for (const w of workloads(objects)) {
      for (const c of [...(podSpecOf(w).initContainers ?? []), ...podSpecOf(w).containers]) {
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
          if (!ref) continue;
          const kind = e.valueFrom.secretKeyRef ? 'Secret' : 'ConfigMap';
          const source = find(objects, kind, ref.name);
          const keys = Object.keys({ ...(source?.data ?? {}), ...(source?.stringData ?? {}) });
          if (!keys.includes(ref.key)) missing.push(`${w.kind}/${w.metadata.name} ${c.name} ${e.name} -> ${kind} ${ref.name}.${ref.key}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
