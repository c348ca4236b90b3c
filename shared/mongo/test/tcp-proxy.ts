import net, { type AddressInfo } from 'node:net';

/**
 * A TCP proxy for outage tests (POS-DESIGN §11 "To test a Mongo outage"): the in-memory MongoDB keeps
 * running (stopping it would lose its data) while the proxy cuts every connection to it. Paused, it
 * drops open connections and refuses new ones, as a MongoDB that went away would.
 */
export class TcpProxy {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private paused = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = net.createServer((client) => this.accept(client));
  }

  /** A proxy in front of the MongoDB of `uri` (host:port of the first host). */
  static forUri(uri: string): TcpProxy {
    const url = new URL(uri);
    return new TcpProxy(url.hostname, Number(url.port || 27017));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** The same URI, through the proxy. */
  uri(): string {
    return `mongodb://127.0.0.1:${this.port}/?directConnection=true`;
  }

  pause(): void {
    this.paused = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  resume(): void {
    this.paused = false;
  }

  async close(): Promise<void> {
    this.pause();
    await new Promise((r) => this.server.close(r));
  }

  private accept(client: net.Socket): void {
    if (this.paused) {
      client.destroy();
      return;
    }
    const upstream = net.connect(this.targetPort, this.targetHost);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
