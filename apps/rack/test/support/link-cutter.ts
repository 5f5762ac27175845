// A TCP relay between one client and nats-server that a test can cut and restore: the client's link drops (and its
// redials are refused) while everyone else's stays up, so pushes sent meanwhile are really missed.
import { createServer, type Server, Socket } from "node:net";

/**
 * Relays `nats://127.0.0.1:<port>` to `target`. `cut()` closes every relayed connection and refuses new ones until
 * `restore()`.
 *
 * @example
 * await using cutter = await LinkCutter.start(h.nats.port);
 * spawnRack(h, { ..., env: { FLUXRIG_NATS_URL: cutter.url } });
 */
export class LinkCutter implements AsyncDisposable {
  readonly #server: Server;
  readonly #targetPort: number;
  readonly #sockets = new Set<Socket>();
  #cut = false;
  /** Connections relayed so far (a redial after a restore counts). */
  accepted = 0;

  private constructor(server: Server, targetPort: number) {
    this.#server = server;
    this.#targetPort = targetPort;
  }

  static async start(targetPort: number): Promise<LinkCutter> {
    const server = createServer();
    const cutter = new LinkCutter(server, targetPort);
    server.on("connection", (client) => cutter.#relay(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    return cutter;
  }

  get port(): number {
    const address = this.#server.address();
    if (address === null || typeof address === "string") throw new Error("relay not listening");
    return address.port;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Connections open through the relay now. */
  get open(): number {
    return this.#sockets.size / 2;
  }

  cut(): void {
    this.#cut = true;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }

  restore(): void {
    this.#cut = false;
  }

  #relay(client: Socket): void {
    if (this.#cut) {
      client.destroy();
      return;
    }
    this.accepted++;
    const upstream = new Socket();
    const pair = [client, upstream];
    for (const s of pair) {
      this.#sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => {
        this.#sockets.delete(s);
        for (const other of pair) other.destroy();
      });
    }
    upstream.connect(this.#targetPort, "127.0.0.1");
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
