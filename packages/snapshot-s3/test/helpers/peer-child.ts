/** Drives a peer-process.mjs child: routes its messages to in-process replicas and back. */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Replica } from "@replic/core";

const script = fileURLToPath(new URL("./peer-process.mjs", import.meta.url));

export interface PeerChild {
  peerId: number;
  ready: { peerId: number; restored?: { restored: boolean; peerId: number; from: number } };
  child: ChildProcess;
  written: number;
  /** Links an in-process replica with the child both ways. */
  link(r: Replica): void;
  send(m: object): void;
  dump(): Promise<unknown[]>;
  next(type: string): Promise<any>;
  exit(): Promise<void>;
}

export async function startPeerChild(dbPath: string, config: object = {}): Promise<PeerChild> {
  const child = fork(script, [dbPath], { serialization: "advanced", env: { ...process.env, PEER_CONFIG: JSON.stringify(config) }, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const local = new Map<number, Replica>();
  const waiters: { type: string; resolve: (m: any) => void }[] = [];
  const self = { written: 0 } as PeerChild;
  child.on("message", (m: any) => {
    if (m.type === "msg") {
      const r = local.get(m.to);
      if (r && !r.status().closed) r.receive(self.peerId, new Uint8Array(m.bytes));
      return;
    }
    if (m.type === "written") self.written = m.count;
    const i = waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) waiters.splice(i, 1)[0]!.resolve(m);
  });
  const next = (type: string) =>
    new Promise<any>((resolve, reject) => {
      waiters.push({ type, resolve });
      child.once("exit", (code) => reject(new Error(`peer process exited (${code}) while waiting for ${type}`)));
    });
  const ready = await next("ready");
  return Object.assign(self, {
    peerId: ready.peerId,
    ready,
    child,
    next,
    send: (m: object) => child.send(m),
    link(r: Replica) {
      local.set(r.peerId, r);
      r.addPeer(self.peerId, (bytes) => {
        if (child.connected) child.send({ type: "msg", from: r.peerId, bytes });
      });
      child.send({ type: "addPeer", peerId: r.peerId });
      r.tick();
    },
    async dump() {
      const p = next("dump");
      child.send({ type: "dump" });
      return (await p).rows;
    },
    async exit() {
      if (child.exitCode !== null) return;
      const done = new Promise<void>((r) => child.once("exit", () => r()));
      child.send({ type: "exit" });
      await done;
    },
  });
}
