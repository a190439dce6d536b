/** In-process links between replicas (messages delivered on a later tick), and a convergence wait. */
import type { Replica } from "@replic/core";

export function link(a: Replica, b: Replica): void {
  a.addPeer(b.peerId, (m) => setImmediate(() => safeReceive(b, a.peerId, m)));
  b.addPeer(a.peerId, (m) => setImmediate(() => safeReceive(a, b.peerId, m)));
  a.tick();
  b.tick();
}

function safeReceive(r: Replica, from: number, m: Uint8Array): void {
  if (!r.status().closed) r.receive(from, m);
}

/** Ticks every replica until `done()` holds or the timeout passes. */
export async function until(replicas: Replica[], done: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error("replicas did not converge in time");
    for (const r of replicas) r.tick();
    await new Promise((r) => setTimeout(r, 20));
  }
}
