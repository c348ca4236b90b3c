// docs/deployment.md covers what an operator needs, and the README points to it.
import { readText, rootPackage } from './support/repo';

const doc = readText('docs/deployment.md');
const headings = [...doc.matchAll(/^#{2,3} (.+)$/gm)].map((m) => m[1]!);

describe('docs/deployment.md', () => {
  it.each(['Docker Compose', 'Kubernetes', 'Scaling', 'Secrets', 'Key rotation', 'Backups', 'What to monitor', 'How this was validated', 'Adding a service'])(
    'when it is read, then it has a section on %s',
    (topic) => {
      expect(headings.some((h) => h.toLowerCase().includes(topic.toLowerCase()))).toBe(true);
    },
  );

  it('when the scaling and operations sections are read, then they name the mechanisms that make replicas safe and the tools to use', () => {
    for (const phrase of ['SKIP LOCKED', 'consumer group', 'advisory lock', 'Redis', 'npm run keys:rotate', 'JWKS', 'pg_dump', 'point-in-time', 'AOF', 'mongodump', 'no Docker engine and no Kubernetes cluster']) {
      expect({ phrase, present: doc.includes(phrase) }).toEqual({ phrase, present: true });
    }
  });

  it('when it names an npm script, then the script exists', () => {
    const scripts = rootPackage().scripts;
    const named = [...doc.matchAll(/npm run ([a-z][a-z0-9:-]*)/g)].map((m) => m[1]!).filter((s) => s !== 'events:replay');
    expect(named.filter((s) => !(s in scripts))).toEqual([]);
  });

  it('when the README is read, then its Deployment section links docs/deployment.md', () => {
    expect(readText('README.md')).toMatch(/## Deployment[\s\S]*?\(docs\/deployment\.md\)/);
  });
});
