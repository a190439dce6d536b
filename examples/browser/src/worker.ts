/**
 * The replica of this tab, in a dedicated worker: SQLite (official WASM build) on an OPFS file
 * through the opfs-sahpool VFS (in memory where OPFS is missing), linked to the hub over
 * @replic/transport-ws (its browser build: global WebSocket, HMAC on WebCrypto). The page reaches it through the worker protocol (see main.ts).
 * The link's own state (link.on("state")) goes to the page as a "connection" event the moment it
 * changes: the page never guesses it from a stale flag.
 */
import sqlite3InitModule from "@sqlite.org/sqlite-wasm";
import { exposeReplica, oo1Query, openBrowserDatabase, openOo1Replica, reportFatal } from "@replic/adapter-wasm/browser";
import type { MessageEndpoint } from "@replic/adapter-wasm/browser";
import { connectWebSocket, type LinkState, type WebSocketLink } from "@replic/transport-ws";
import { TODO_MIGRATIONS } from "../schema.mjs";
import { DEMO_SECRET } from "../secret.mjs";

export interface WorkerInit {
  type: "init";
  hubUrl: string;
  preferredSlot?: number;
  /** The shared secret to prove (default DEMO_SECRET); `?secret=` on the page sets it. */
  secret?: string;
}

/** What the page shows of the link: the transport's state, or "offline" when the toggle closed it. */
export interface Connection {
  online: boolean;
  state: LinkState | "offline";
  /** The hub's peer id, once a handshake told it. */
  hubPeerId: number | null;
  /** Why the link last ended (a close reason, an authentication refusal). */
  reason: string | null;
}

const scope = self as unknown as MessageEndpoint;

async function start(init: WorkerInit): Promise<void> {
  const sqlite3 = await sqlite3InitModule();
  const opened = await openBrowserDatabase(sqlite3, { name: "replic-todos", preferredSlot: init.preferredSlot });
  const replica = openOo1Replica(opened.db, sqlite3, { heartbeatMs: 500 });
  replica.migrate(TODO_MIGRATIONS);

  let link: WebSocketLink | undefined;
  let online = false;
  let hubPeerId: number | null = null;
  let reason: string | null = null;
  const connectionState = (): Connection => ({ online, state: link?.state ?? "offline", hubPeerId, reason });
  const host = exposeReplica(scope, replica, {
    query: oo1Query(opened.db),
    info: { storage: opened.storage, slot: opened.slot, fallbackReason: opened.fallbackReason, sqlite: sqlite3.version.libVersion },
    methods: {
      connection: connectionState,
      // The offline toggle: close the link (writes keep landing locally), or dial the hub again.
      async setOnline(want: boolean) {
        online = want;
        if (!want && link) {
          const l = link;
          link = undefined;
          reason = null;
          await l.close();
        } else if (want && !link) {
          // Pings every 500 ms and a 2 s silence limit: a cut network shows within a few heartbeats.
          const l = (link = connectWebSocket(replica, init.hubUrl, { secret: init.secret ?? DEMO_SECRET, reconnectMaxMs: 2000, pingIntervalMs: 500, deadAfterMs: 2000 }));
          l.on("state", (change) => {
            if (link !== l) return; // a link the toggle already closed
            if (change.state === "connected") {
              hubPeerId = l.remotePeerId ?? null;
              reason = null;
              replica.tick(); // exchange heads at once instead of at the next heartbeat
            } else if (change.reason !== undefined) {
              reason = change.reason;
            }
            host.emit("connection", connectionState());
          });
        }
        host.emit("connection", connectionState());
        return connectionState();
      },
    },
  });
  host.emit("connection", connectionState());
}

self.addEventListener("message", function onInit(e: MessageEvent) {
  if ((e.data as WorkerInit | undefined)?.type !== "init") return;
  self.removeEventListener("message", onInit);
  start(e.data as WorkerInit).catch((err: unknown) => reportFatal(scope, err));
});
