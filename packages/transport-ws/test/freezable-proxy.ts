// A loopback TCP proxy that can freeze its open connections: bytes stop flowing both ways but no
// FIN or RST is sent, which is what a vanished peer (pulled cable, suspended VM) looks like.
import { createServer, connect, type Socket } from "node:net";

export interface FreezableProxy {
  port: number;
  freeze(): void;
  close(): Promise<void>;
}

export async function freezableProxy(targetPort: number): Promise<FreezableProxy> {
  const pairs: Array<[Socket, Socket]> = [];
  const server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    const pair: [Socket, Socket] = [client, upstream];
    pairs.push(pair);
    let frozen = false;
    (pair as unknown as { freeze: () => void }).freeze = () => {
      frozen = true;
    };
    client.on("data", (d) => void (frozen || upstream.write(d)));
    upstream.on("data", (d) => void (frozen || client.write(d)));
    const end = () => {
      if (frozen) return; // a frozen peer says nothing, not even goodbye
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
    client.on("error", () => {});
    upstream.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as { port: number }).port,
    freeze() {
      for (const p of pairs.splice(0)) (p as unknown as { freeze: () => void }).freeze();
    },
    async close() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
