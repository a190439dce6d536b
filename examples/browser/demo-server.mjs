// The demo's Node side: a hub replica (better-sqlite3) that browsers link to over
// @replic/transport-ws at /replic, on the same 127.0.0.1 server (same origin) as the built app.
// Used by serve.mjs (npm run demo:browser) and by the end-to-end test.
import Database from "better-sqlite3";
import { openReplica } from "@replic/adapter-node";
import { serveWebSocket } from "@replic/transport-ws";
import { TODO_MIGRATIONS } from "./schema.mjs";
import { serveStatic } from "./static-server.mjs";

/**
 * Starts the web server and the hub on it. `dbPath` ":memory:" keeps nothing; `port` 0 picks a
 * free port. Resolves to { url, hubUrl, db, replica, hub, web, close() }; `hub.close()` alone
 * takes the hub away and leaves the app served.
 */
export async function startDemo({ dist, dbPath = ":memory:", port = 0, heartbeatMs = 500 }) {
  const db = new Database(dbPath);
  db.pragma("journal_mode = WAL");
  const replica = openReplica(db, { heartbeatMs });
  replica.migrate(TODO_MIGRATIONS);
  const web = await serveStatic(dist, { port });
  const hub = await serveWebSocket(replica, { server: web.server, path: "/replic", pingIntervalMs: 2000 });
  const hubUrl = `ws://127.0.0.1:${web.port}/replic`;
  return {
    url: web.url,
    hubUrl,
    db,
    replica,
    hub,
    web,
    async close() {
      await hub.close();
      await web.close();
      replica.close();
      db.close();
    },
  };
}
