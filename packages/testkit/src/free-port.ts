// Asks the OS for a TCP port nobody is listening on, the way every test picks its ports.
import { createServer } from "node:net";

/**
 * Returns a port that was free on `host` a moment ago: the OS picks it (listen on port 0), then it is released.
 * Another process could take it before you bind it; `startNatsServer` retries with a new port when that happens.
 *
 * @example
 * const port = await freePort(); // e.g. 41873
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error(`freePort: unexpected listen address ${String(address)}`));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}
