// Who can reach whom, evaluated from the NetworkPolicies in infrastructure/kubernetes/ (default deny,
// gateway from the ingress controller only, services from the gateway and each other, datastores
// from the services, egress to datastores and DNS).
import { find, loadManifests, NAMESPACE, objectsOf, podSpecOf } from './support/kubernetes';
import { allowed, type Endpoint } from './support/network-policy';
import { discoverServices, type Json } from './support/repo';

const objects = loadManifests();
const policies = objectsOf(objects, 'NetworkPolicy');
const services = discoverServices();
const nsLabels = (name: string) => ({ 'kubernetes.io/metadata.name': name });

/** A pod of one of our workloads, with the labels and named ports of its template. */
function podOf(kind: string, name: string): Endpoint {
  const w = find(objects, kind, name);
  if (!w) throw new Error(`no ${kind}/${name} in infrastructure/kubernetes/`);
  const ports: Record<string, number> = {};
  for (const c of podSpecOf(w).containers) for (const p of c.ports ?? []) if (p.name) ports[p.name] = p.containerPort;
  return { namespace: NAMESPACE, namespaceLabels: nsLabels(NAMESPACE), labels: w.spec.template.metadata.labels, ports };
}

const ingressController: Endpoint = { namespace: 'ingress-nginx', namespaceLabels: nsLabels('ingress-nginx'), labels: { 'app.kubernetes.io/name': 'ingress-nginx' } };
const prometheus: Endpoint = { namespace: 'monitoring', namespaceLabels: nsLabels('monitoring'), labels: { 'app.kubernetes.io/name': 'prometheus' } };
const otherNamespacePod: Endpoint = { namespace: 'default', namespaceLabels: nsLabels('default'), labels: { app: 'anything' } };
const strayPod: Endpoint = { namespace: NAMESPACE, namespaceLabels: nsLabels(NAMESPACE), labels: { app: 'debug-shell' } };
const dns: Endpoint = { namespace: 'kube-system', namespaceLabels: nsLabels('kube-system'), labels: { 'k8s-app': 'kube-dns' } };
const internet = (ip: string): Endpoint => ({ namespace: '', namespaceLabels: {}, ip });

const datastores = [
  ['postgres', 5432],
  ['redis', 6379],
  ['mongo', 27017],
] as const;
const migration = () => {
  const job = objectsOf(objects, 'Job')[0] as Json;
  return podOf('Job', job.metadata.name);
};

describe('NetworkPolicies', () => {
  it('when the policies are read, then a default-deny policy selects every pod for ingress and egress', () => {
    const deny = policies.find((p) => Object.keys(p.spec.podSelector ?? {}).length === 0 && !p.spec.ingress && !p.spec.egress);
    expect(deny?.spec.policyTypes).toEqual(expect.arrayContaining(['Ingress', 'Egress']));
  });

  it('when traffic comes from the ingress controller, then it reaches the api-gateway and nothing else', () => {
    const gateway = podOf('Deployment', 'api-gateway');
    expect(allowed(policies, { from: ingressController, to: gateway, port: gateway.ports!.http! })).toBe(true);
    expect(allowed(policies, { from: ingressController, to: gateway, port: 9229 })).toBe(false);
    for (const s of services.filter((x) => x.name !== 'api-gateway')) {
      expect({ service: s.name, reachable: allowed(policies, { from: ingressController, to: podOf('Deployment', s.name), port: s.port }) }).toEqual({ service: s.name, reachable: false });
    }
    for (const [name, port] of datastores) expect({ name, reachable: allowed(policies, { from: ingressController, to: podOf('StatefulSet', name), port }) }).toEqual({ name, reachable: false });
  });

  it('when traffic comes from another namespace or an unlabelled pod, then no service or datastore is reachable', () => {
    for (const from of [otherNamespacePod, strayPod]) {
      for (const s of services) expect({ from: from.namespace, to: s.name, ok: allowed(policies, { from, to: podOf('Deployment', s.name), port: s.port }) }).toEqual({ from: from.namespace, to: s.name, ok: false });
      for (const [name, port] of datastores) expect({ from: from.namespace, to: name, ok: allowed(policies, { from, to: podOf('StatefulSet', name), port }) }).toEqual({ from: from.namespace, to: name, ok: false });
    }
  });

  it('when the gateway or a service calls a service, then it gets through on that service port only', () => {
    for (const from of services) {
      for (const to of services.filter((s) => s.name !== from.name)) {
        const src = podOf('Deployment', from.name);
        const dst = podOf('Deployment', to.name);
        expect({ from: from.name, to: to.name, ok: allowed(policies, { from: src, to: dst, port: to.port }) }).toEqual({ from: from.name, to: to.name, ok: true });
        expect(allowed(policies, { from: src, to: dst, port: 22 })).toBe(false);
      }
    }
  });

  it('when a service connects to Postgres, Redis, MongoDB and cluster DNS, then it gets through', () => {
    for (const s of services) {
      const src = podOf('Deployment', s.name);
      for (const [name, port] of datastores) expect({ from: s.name, to: name, ok: allowed(policies, { from: src, to: podOf('StatefulSet', name), port }) }).toEqual({ from: s.name, to: name, ok: true });
      expect(allowed(policies, { from: src, to: dns, port: 53, protocol: 'UDP' })).toBe(true);
    }
  });

  it('when the migration Job runs, then it reaches Postgres and DNS only', () => {
    const job = migration();
    expect(allowed(policies, { from: job, to: podOf('StatefulSet', 'postgres'), port: 5432 })).toBe(true);
    expect(allowed(policies, { from: job, to: dns, port: 53, protocol: 'UDP' })).toBe(true);
    expect(allowed(policies, { from: job, to: podOf('StatefulSet', 'redis'), port: 6379 })).toBe(false);
    for (const s of services) expect(allowed(policies, { from: job, to: podOf('Deployment', s.name), port: s.port })).toBe(false);
    expect(allowed(policies, { from: job, to: internet('93.184.215.14'), port: 443 })).toBe(false);
  });

  it('when Prometheus in the monitoring namespace scrapes a service, then it reaches the http port', () => {
    for (const s of services) expect(allowed(policies, { from: prometheus, to: podOf('Deployment', s.name), port: s.port })).toBe(true);
  });

  it('when a pod calls the internet, then only pods labelled for it get out, on HTTPS, and never to private or metadata addresses', () => {
    const label = 'networking.cloud-pos/internet-egress';
    for (const s of services) {
      const src = podOf('Deployment', s.name);
      const labelled = src.labels![label] === 'true';
      expect({ service: s.name, ok: allowed(policies, { from: src, to: internet('93.184.215.14'), port: 443 }) }).toEqual({ service: s.name, ok: labelled });
      expect(allowed(policies, { from: src, to: internet('93.184.215.14'), port: 80 })).toBe(false);
      expect(allowed(policies, { from: src, to: internet('169.254.169.254'), port: 443 })).toBe(false);
      expect(allowed(policies, { from: src, to: internet('10.1.2.3'), port: 443 })).toBe(false);
    }
    for (const [name] of datastores) expect(allowed(policies, { from: podOf('StatefulSet', name), to: internet('93.184.215.14'), port: 443 })).toBe(false);
  });
});
