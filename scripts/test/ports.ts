import net from 'node:net';

/**
 * A local port where nothing listens and nothing ever will during the tests: a privileged port
 * (below 1024) that refuses connections. A port taken from the ephemeral range and released again
 * is no good: test servers in other Jest workers listen on port 0 and may be given it, so a
 * "stopped service" would suddenly answer.
 */
export async function refusedPort(): Promise<number> {
  for (const port of [1, 9, 13, 17, 19, 37]) {
    if (await refuses(port)) return port;
  }
  throw new Error('no privileged port on 127.0.0.1 refuses connections');
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/**
 * A free port below the ephemeral range (32768+ on Linux), for a server a test starts later on a
 * port it must know in advance (a service that "comes back"): no test server listening on port 0 is
 * ever given one of these, so the port is still free when the test gets to it.
 */
export async function portBelowEphemeralRange(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await bindable(port)) return port;
  }
  throw new Error('no free port between 20000 and 32000 on 127.0.0.1');
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
