// Each service's real config schema (services/<name>/src/config.ts, `configSchema`) against what
// compose and Kubernetes give it. "Required" is computed by parsing {NODE_ENV: 'production'}, so a
// new required variable without deployment config fails here. Secrets are replaced by stand-ins
// (what an operator puts in .env or the real Secret).
import { dependsOn, loadCompose, rawEnvironment, resolvedEnvironment } from './support/compose';
import { containerEnv, find, loadManifests, objectsOf, podSpecOf } from './support/kubernetes';
import {
  configSchemaOf,
  discoverServices,
  productionConfigIssues,
  requiredInProduction,
  schemaKeys,
  serviceUrlVar,
  type Json,
} from './support/repo';

const services = discoverServices();
const compose = loadCompose();
const objects = loadManifests();

function composeEnv(name: string): Record<string, string> {
  const svc = compose.services?.[name];
  if (!svc) throw new Error(`no compose service ${name} in docker-compose.yml`);
  return resolvedEnvironment(svc);
}
function k8sEnv(name: string, mode: 'sample' | 'template' = 'sample'): Record<string, string> {
  const d = find(objects, 'Deployment', name);
  if (!d) throw new Error(`no Deployment ${name} in infrastructure/kubernetes/`);
  const container = podSpecOf(d).containers.find((c: Json) => c.name === name);
  return containerEnv(objects, d.metadata.namespace, container, mode);
}
const migrateK8sEnv = () => {
  const job = objectsOf(objects, 'Job')[0];
  return containerEnv(objects, job.metadata.namespace, podSpecOf(job).containers[0]);
};
const targets = [
  ['compose', composeEnv],
  ['kubernetes', (n: string) => k8sEnv(n)],
] as const;

/** URL variables that do not name a dependency inside the deployment. */
const OUTSIDE_URL = /^(OAUTH_|SMS_PROVIDER_URL$|APP_PUBLIC_URL$)/;

/** The hosts each target can resolve: compose service names, or Kubernetes Service names (short or FQDN). */
const hostResolves = {
  compose: (host: string) => host in (compose.services ?? {}),
  kubernetes: (host: string) => {
    const short = host.replace(/\.cloud-pos(\.svc(\.cluster\.local)?)?$/, '');
    return Boolean(find(objects, 'Service', short));
  },
};

describe('config schemas', () => {
  it.each(services.map((s) => [s.name] as const))('when services/%s/src/config.ts is loaded, then it exports configSchema and requires something in production', (name) => {
    const schema = configSchemaOf(name);
    expect(schemaKeys(schema)).toContain('NODE_ENV');
    // Every service needs at least its datastore or Redis URL in production; an empty list would
    // mean the computation is broken, not that nothing is required.
    expect(requiredInProduction(schema).length).toBeGreaterThan(0);
  });
});

describe.each(services.map((s) => [s.name, s] as const))('environment of %s', (name, svc) => {
  const schema = () => configSchemaOf(name);

  describe.each(targets)('in %s', (target, envOf) => {
    it('when the variables required in production are listed, then each is set (not empty)', () => {
      const env = envOf(name);
      const missing = requiredInProduction(schema()).filter((v) => !env[v]);
      expect(missing).toEqual([]);
    });

    it('when the service parses its deployed environment as in production, then it starts (no config issue)', () => {
      expect(productionConfigIssues(schema(), envOf(name))).toEqual([]);
    });

    it('when every variable set for it is listed, then each is one its config schema reads (no typo, nothing unused)', () => {
      const keys = new Set(schemaKeys(schema()));
      expect(Object.keys(envOf(name)).filter((k) => !keys.has(k))).toEqual([]);
    });

    it(`when NODE_ENV and PORT are read, then they are production and ${svc.port}`, () => {
      const env = envOf(name);
      expect(env.NODE_ENV).toBe('production');
      expect(env.PORT).toBe(String(svc.port));
    });

    it('when it reads the URL of another service, then that URL points at the service by name and package.json port', () => {
      const keys = schemaKeys(schema());
      const env = envOf(name);
      for (const other of services.filter((s) => s.name !== name)) {
        const key = serviceUrlVar(other.name);
        if (keys.includes(key)) expect({ key, value: env[key] }).toEqual({ key, value: `http://${other.name}:${other.port}` });
      }
    });

    it('when a variable holds a connection URL, then its host is something this deployment runs', () => {
      // *_URL are the service's dependencies; OAUTH_* and SMS_PROVIDER_URL point at an outside
      // provider, APP_PUBLIC_URL is the front-end's public address (links in emails), never connected to.
      const unresolved = Object.entries(envOf(name))
        .filter(([k, v]) => /_URL$/.test(k) && !OUTSIDE_URL.test(k) && v !== '')
        .map(([k, v]) => [k, new URL(v).hostname] as const)
        .filter(([, host]) => !hostResolves[target](host));
      expect(unresolved).toEqual([]);
    });

    it('when it connects to Postgres, then DATABASE_URL uses the pos_app role and WORKER_DATABASE_URL pos_worker, with the passwords the migration gives them', () => {
      const env = envOf(name);
      const migrate = target === 'compose' ? resolvedEnvironment(compose.services.migrate) : migrateK8sEnv();
      const admin = new URL(migrate.DATABASE_ADMIN_URL!);
      const pairs = [
        ['DATABASE_URL', migrate.DB_APP_ROLE ?? 'pos_app', migrate.DB_APP_PASSWORD],
        ['WORKER_DATABASE_URL', migrate.DB_WORKER_ROLE ?? 'pos_worker', migrate.DB_WORKER_PASSWORD],
      ] as const;
      for (const [key, role, password] of pairs) {
        if (!env[key]) continue;
        const url = new URL(env[key]);
        expect({ key, user: url.username, password: decodeURIComponent(url.password), host: url.host, db: url.pathname }).toEqual({
          key,
          user: role,
          password,
          host: admin.host,
          db: admin.pathname,
        });
      }
      expect([migrate.DB_APP_ROLE ?? 'pos_app', migrate.DB_WORKER_ROLE ?? 'pos_worker']).toEqual(['pos_app', 'pos_worker']);
    });
  });

  it('when compose and Kubernetes are compared, then they set the same variables', () => {
    expect(Object.keys(rawEnvironment(compose.services?.[name] ?? {})).sort()).toEqual(Object.keys(k8sEnv(name)).sort());
  });
});

describe('Secret template', () => {
  it('when the services are given the template values as they are, then at least one refuses to start (no cluster runs on placeholders)', () => {
    const refusals = services.flatMap((s) => (find(objects, 'Deployment', s.name) ? productionConfigIssues(configSchemaOf(s.name), k8sEnv(s.name, 'template')) : []));
    expect(refusals.some((issue) => /development value/.test(issue))).toBe(true);
  });
});

describe('Redis URL', () => {
  it('when compose and Kubernetes give a service REDIS_URL, then it carries the Redis password (requirepass is on)', () => {
    for (const s of services) {
      const c = composeEnv(s.name).REDIS_URL;
      const k = k8sEnv(s.name, 'template').REDIS_URL;
      if (c) expect(new URL(c).password).toBe(resolvedEnvironment(compose.services.redis).REDISCLI_AUTH);
      if (k) expect(new URL(k).password).toBe(find(objects, 'Secret', 'pos-secrets').stringData.REDIS_PASSWORD);
    }
  });
});

describe('MongoDB URI', () => {
  const readsMongo = services.filter((s) => schemaKeys(configSchemaOf(s.name)).includes('MONGODB_URI'));
  const uriParts = (uri: string) => {
    const url = new URL(uri);
    return { user: url.username, password: decodeURIComponent(url.password), host: url.host, authSource: url.searchParams.get('authSource') };
  };

  it('when the services that read MONGODB_URI are listed, then the ones writing audit, analytics and api usage are among them', () => {
    expect(readsMongo.map((s) => s.name)).toEqual(expect.arrayContaining(['auth-service', 'transaction-service', 'api-gateway']));
  });

  it('when compose gives a service MONGODB_URI, then it is the mongo container as its root user with the root password, and the service waits for mongo to be healthy', () => {
    const mongo = resolvedEnvironment(compose.services.mongo);
    for (const s of readsMongo) {
      const uri = composeEnv(s.name).MONGODB_URI;
      expect({ service: s.name, set: Boolean(uri) }).toEqual({ service: s.name, set: true });
      expect({ service: s.name, ...uriParts(uri!) }).toEqual({
        service: s.name,
        user: mongo.MONGO_INITDB_ROOT_USERNAME,
        password: mongo.MONGO_INITDB_ROOT_PASSWORD,
        host: 'mongo:27017',
        authSource: 'admin',
      });
      expect({ service: s.name, mongo: dependsOn(compose.services[s.name]).mongo }).toEqual({ service: s.name, mongo: 'service_healthy' });
    }
  });

  it('when Kubernetes gives a service MONGODB_URI, then it is the mongo Service as the StatefulSet root user with the password in pos-secrets', () => {
    const secret = find(objects, 'Secret', 'pos-secrets').stringData;
    const rootUser = podSpecOf(find(objects, 'StatefulSet', 'mongo')).containers[0].env.find((e: Json) => e.name === 'MONGO_INITDB_ROOT_USERNAME')?.value;
    for (const s of readsMongo) {
      const uri = k8sEnv(s.name, 'template').MONGODB_URI;
      expect({ service: s.name, set: Boolean(uri) }).toEqual({ service: s.name, set: true });
      expect({ service: s.name, ...uriParts(uri!) }).toEqual({ service: s.name, user: rootUser, password: secret.MONGO_ROOT_PASSWORD, host: 'mongo:27017', authSource: 'admin' });
      expect(hostResolves.kubernetes(new URL(uri!).hostname)).toBe(true);
    }
  });
});
