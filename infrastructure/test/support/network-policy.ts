// A small evaluator of Kubernetes NetworkPolicy semantics, to test who can reach whom statically:
// a connection is allowed when the destination's ingress AND the source's egress allow it. For each
// side, if no policy of that type selects the pod, everything is allowed; otherwise some selecting
// policy must have a rule whose peers and ports match.
import { type Json } from './repo';
import { selectorMatches } from './kubernetes';

export interface Endpoint {
  namespace: string;
  namespaceLabels: Record<string, string>;
  /** Pod labels; undefined for an address outside the cluster (matched by ipBlock only). */
  labels?: Record<string, string>;
  ip?: string;
  /** Named container ports of the pod (for `port: http`). */
  ports?: Record<string, number>;
}

export interface Connection {
  from: Endpoint;
  to: Endpoint;
  port: number;
  protocol?: 'TCP' | 'UDP';
}

const policyTypes = (p: Json): string[] => p.spec.policyTypes ?? (p.spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);

function ipInCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const toInt = (a: string) => a.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
  return ((toInt(ip) & mask) >>> 0) === ((toInt(base!) & mask) >>> 0);
}

function peerMatches(peer: Json, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock) {
    // Pod-to-pod traffic is matched by selectors; ipBlock is for addresses outside the cluster.
    if (!other.ip || other.labels) return false;
    return ipInCidr(other.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c: string) => ipInCidr(other.ip!, c));
  }
  if (!other.labels) return false;
  const nsOk = peer.namespaceSelector ? selectorMatches(peer.namespaceSelector, other.namespaceLabels) : other.namespace === policyNamespace;
  const podOk = peer.podSelector ? selectorMatches(peer.podSelector, other.labels) : true;
  return nsOk && podOk;
}

function portMatches(ports: Json[] | undefined, port: number, protocol: string, target: Endpoint): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) return false;
    if (p.port === undefined) return true;
    const number = typeof p.port === 'number' ? p.port : target.ports?.[p.port];
    if (number === undefined) return false;
    return p.endPort ? port >= number && port <= p.endPort : port === number;
  });
}

function sideAllows(policies: Json[], type: 'Ingress' | 'Egress', pod: Endpoint, other: Endpoint, port: number, protocol: string, portOwner: Endpoint): boolean {
  if (!pod.labels) return true; // outside the cluster: no policy applies to it
  const selecting = policies.filter(
    (p) => (p.metadata.namespace ?? 'default') === pod.namespace && policyTypes(p).includes(type) && selectorMatches(p.spec.podSelector, pod.labels),
  );
  if (selecting.length === 0) return true;
  const rulesKey = type === 'Ingress' ? 'ingress' : 'egress';
  const peersKey = type === 'Ingress' ? 'from' : 'to';
  return selecting.some((p) =>
    (p.spec[rulesKey] ?? []).some((rule: Json) => {
      const peers: Json[] | undefined = rule[peersKey];
      const peerOk = !peers || peers.length === 0 || peers.some((peer) => peerMatches(peer, p.metadata.namespace, other));
      return peerOk && portMatches(rule.ports, port, protocol, portOwner);
    }),
  );
}

export function allowed(policies: Json[], c: Connection): boolean {
  const protocol = c.protocol ?? 'TCP';
  return sideAllows(policies, 'Egress', c.from, c.to, c.port, protocol, c.to) && sideAllows(policies, 'Ingress', c.to, c.from, c.port, protocol, c.to);
}
