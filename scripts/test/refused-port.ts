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
