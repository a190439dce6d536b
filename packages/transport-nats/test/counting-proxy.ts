// A loopback TCP proxy in front of a server that counts the connections made through it: how
// often a client dials, seen from outside the client.
import { createServer, connect } from "node:net";

export interface CountingProxy {
  port: number;
  readonly dials: number;
  close(): Promise<void>;
}

export async function countingProxy(targetPort: number): Promise<CountingProxy> {
  let dials = 0;
  const sockets = new Set<import("node:net").Socket>();
  const server = createServer((client) => {
    dials++;
    const upstream = connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as { port: number }).port,
    get dials() {
      return dials;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
