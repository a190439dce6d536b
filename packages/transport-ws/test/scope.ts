// Per-test resources for the Node link tests: peers, servers and links opened through a scope
// are closed after each test, newest first, whatever the test's outcome.
import { afterEach } from "vitest";
import { connectWebSocket, serveWebSocket, type WebSocketLink, type WebSocketServer } from "../src/index.js";
import { openPeer, quietLogger, type TestPeer } from "./helpers.js";

export interface TestScope {
  /** Runs `f` after the test (cleanups run newest first). */
  defer(f: () => unknown): void;
  peer(id: number): TestPeer;
  serve(p: TestPeer, opts?: Parameters<typeof serveWebSocket>[1]): Promise<WebSocketServer>;
  connect(p: TestPeer, url: string, opts?: Parameters<typeof connectWebSocket>[2]): WebSocketLink;
}

export function testScope(): TestScope {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });
  const defer = (f: () => unknown) => void cleanup.push(f);
  return {
    defer,
    peer(id) {
      const p = openPeer(id);
      defer(() => p.close());
      return p;
    },
    async serve(p, opts = {}) {
      const s = await serveWebSocket(p.replica, { port: 0, logger: quietLogger(), ...opts });
      defer(() => s.close());
      return s;
    },
    connect(p, url, opts = {}) {
      const l = connectWebSocket(p.replica, url, { logger: quietLogger(), reconnectBaseMs: 50, reconnectMaxMs: 400, ...opts });
      defer(() => l.close());
      return l;
    },
  };
}
