/**
 * A replica joins a named BroadcastChannel (browser tabs and workers of one origin, or Node worker
 * threads): members announce themselves with a hello, link to each other as they appear, and drop
 * a member that says bye or falls silent.
 */
import { ReplicError } from "@replic/core";
import { isChannelFrame, type ChannelFrame } from "./channel-frame.js";
import { safeReceive, type LinkLogger, type LinkableReplica } from "./replica-like.js";

export interface BroadcastChannelOptions {
  /** A member silent this long (ms) is unlinked; replic heartbeats keep live ones talking. Default 10 000. */
  silenceMs?: number;
  logger?: LinkLogger;
  /** Channel constructor (default: the global BroadcastChannel). */
  BroadcastChannel?: new (name: string) => BroadcastChannel;
}

export interface BroadcastChannelLink {
  /** Peer ids of the members linked now. */
  readonly members: number[];
  /** Posts refused: not a frame of ours, or bytes the replica refused. */
  readonly refused: number;
  close(): Promise<void>;
}

export function joinBroadcastChannel(replica: LinkableReplica, name: string, options: BroadcastChannelOptions = {}): BroadcastChannelLink {
  const Channel = options.BroadcastChannel ?? (globalThis as { BroadcastChannel?: new (name: string) => BroadcastChannel }).BroadcastChannel;
  if (!Channel) throw new ReplicError("INVALID_OPTION", "no BroadcastChannel in this runtime");
  if (typeof name !== "string" || name.length === 0) throw new ReplicError("INVALID_OPTION", "channel name must be a non-empty string");
  const silenceMs = options.silenceMs ?? 10_000;
  const logger = options.logger ?? console;
  const me = replica.peerId;
  const channel = new Channel(name);
  const lastSeen = new Map<number, number>();
  let refused = 0;
  let open = true;

  const post = (f: ChannelFrame) => {
    if (open) channel.postMessage(f);
  };
  const link = (peer: number) => {
    try {
      replica.addPeer(peer, (bytes) => post({ t: "msg", from: me, to: peer, bytes: bytes.slice() }));
      lastSeen.set(peer, Date.now());
      replica.tick();
    } catch (err) {
      logger.warn(`replic: cannot link peer ${peer}: ${(err as Error)?.message ?? err}`); // e.g. a closed replica
    }
  };
  const unlink = (peer: number) => {
    if (!lastSeen.delete(peer)) return;
    try {
      replica.removePeer(peer);
    } catch {
      // closed replica
    }
  };

  channel.onmessage = (ev: MessageEvent) => {
    const f = ev.data;
    if (!isChannelFrame(f)) {
      refused++;
      return;
    }
    if (f.from === me) return;
    if (lastSeen.has(f.from)) lastSeen.set(f.from, Date.now()); // any post proves it is alive
    switch (f.t) {
      case "hello":
        // Introduce ourselves before our first heartbeat reaches it.
        if (!f.reply) post({ t: "hello", from: me, reply: true });
        if (!lastSeen.has(f.from)) link(f.from);
        return;
      case "bye":
        return unlink(f.from);
      case "msg":
        if (f.to !== me) return;
        if (!lastSeen.has(f.from)) {
          // Not a member we know (or one we dropped as silent): ask it to introduce itself.
          refused++;
          post({ t: "hello", from: me, reply: false });
          return;
        }
        safeReceive(replica, f.from, f.bytes, logger, () => refused++);
        return;
    }
  };

  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const [peer, seen] of lastSeen) if (now - seen > silenceMs) unlink(peer);
  }, Math.max(50, Math.floor(silenceMs / 4)));
  (sweeper as { unref?: () => void }).unref?.();

  post({ t: "hello", from: me, reply: false });

  return {
    get members() {
      return [...lastSeen.keys()];
    },
    get refused() {
      return refused;
    },
    async close() {
      if (!open) return;
      post({ t: "bye", from: me });
      open = false;
      clearInterval(sweeper);
      for (const peer of [...lastSeen.keys()]) unlink(peer);
      // Closing at once can discard the bye still queued; give it one turn of the event loop.
      await new Promise((r) => setTimeout(r, 20));
      channel.close();
    },
  };
}
