// The demo's Node side: a hub replica (better-sqlite3) that browsers link to over
// @replic/transport-ws, plus the static server of the built app on 127.0.0.1. Used by serve.mjs
// (npm run demo:browser) and by the end-to-end test.
import Database from "better-sqlite3";
import { openReplica } from "@replic/adapter-node";
import { serveWebSocket } from "@replic/transport-ws";
import { TODO_MIGRATIONS } from "./schema.mjs";
import { serveStatic } from "./static-server.mjs";

/**
 * Starts the hub and the web server. `dbPath` ":memory:" keeps nothing; `port`/`hubPort` 0 pick
 * free ports. Resolves to { url, hubUrl, db, replica, hub, web, close() }.
 */
export async function startDemo({ dist, dbPath = ":memory:", port = 0, hubPort = 0, heartbeatMs = 500 }) {
  const db = new Database(dbPath);
  db.pragma("journal_mode = WAL");
  const replica = openReplica(db, { heartbeatMs });
  replica.migrate(TODO_MIGRATIONS);
  const hub = await serveWebSocket(replica, { port: hubPort, host: "127.0.0.1", path: "/replic", pingIntervalMs: 2000 });
  const hubUrl = `ws://127.0.0.1:${hub.port}/replic`;
  const web = await serveStatic(dist, { port, config: { hubUrl } });
  return {
    url: web.url,
    hubUrl,
    db,
    replica,
    hub,
    web,
    async close() {
      await web.close();
      await hub.close();
      replica.close();
      db.close();
    },
  };
}
