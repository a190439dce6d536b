/**
 * The replica of this tab, in a dedicated worker: SQLite (official WASM build) on an OPFS file
 * through the opfs-sahpool VFS (in memory where OPFS is missing), linked to the hub over
 * @replic/transport-ws. The page reaches it through the worker protocol (see main.ts).
 */
import sqlite3InitModule from "@sqlite.org/sqlite-wasm";
import { exposeReplica, oo1Query, openBrowserDatabase, openOo1Replica, reportFatal } from "@replic/adapter-wasm/browser";
import type { MessageEndpoint } from "@replic/adapter-wasm/browser";
import { connectWebSocket, type WebSocketLink } from "@replic/transport-ws";
import { TODO_MIGRATIONS } from "../schema.mjs";

export interface WorkerInit {
  type: "init";
  hubUrl: string;
  preferredSlot?: number;
}

const scope = self as unknown as MessageEndpoint;

async function start(init: WorkerInit): Promise<void> {
  const sqlite3 = await sqlite3InitModule();
  const opened = await openBrowserDatabase(sqlite3, { name: "replic-todos", preferredSlot: init.preferredSlot });
  const replica = openOo1Replica(opened.db, sqlite3, { heartbeatMs: 500 });
  replica.migrate(TODO_MIGRATIONS);

  let link: WebSocketLink | undefined;
  let online = false;
  const connectionState = () => ({ online, connected: link?.connected ?? false });
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
          await l.close();
        } else if (want && !link) {
          const l = (link = connectWebSocket(replica, init.hubUrl, { reconnectMaxMs: 2000, pingIntervalMs: 2000 }));
          void l.linked().then(() => {
            replica.tick(); // exchange heads at once instead of at the next heartbeat
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
