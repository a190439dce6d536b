// The demo's Node side: a hub replica (better-sqlite3) that browsers link to over
// @replic/transport-ws at /replic, on the same 127.0.0.1 server (same origin) as the built app.
// Used by serve.mjs (npm run demo:browser) and by the end-to-end test.
import Database from "better-sqlite3";
import { openReplica } from "@replic/adapter-node";
import { serveWebSocket } from "@replic/transport-ws";
import { TODO_MIGRATIONS } from "./schema.mjs";
import { DEMO_SECRET } from "./secret.mjs";
import { serveStatic } from "./static-server.mjs";

/**
 * Starts the web server and the hub on it. `dbPath` ":memory:" keeps nothing; `port` 0 picks a
 * free port; `secret` is the shared secret pages must prove (default DEMO_SECRET). Resolves to { url, hubUrl, db, replica, hub, web, reopenHub(), close() }; `hub.close()` alone
 * takes the hub away and leaves the app served; `reopenHub()` brings it back on the same URL.
 */
export async function startDemo({ dist, dbPath = ":memory:", port = 0, heartbeatMs = 500, secret = DEMO_SECRET }) {
  const db = new Database(dbPath);
  db.pragma("journal_mode = WAL");
  const replica = openReplica(db, { heartbeatMs });
  replica.migrate(TODO_MIGRATIONS);
  const web = await serveStatic(dist, { port });
  const serveHub = () => serveWebSocket(replica, { server: web.server, path: "/replic", pingIntervalMs: 2000, secret });
  const hubUrl = `ws://127.0.0.1:${web.port}/replic`;
  const demo = {
    url: web.url,
    hubUrl,
    db,
    replica,
    hub: await serveHub(),
    web,
    async reopenHub() {
      await demo.hub.close(); // a no-op when it is closed already
      demo.hub = await serveHub();
    },
    async close() {
      await demo.hub.close();
      await web.close();
      replica.close();
      db.close();
    },
  };
  return demo;
}
