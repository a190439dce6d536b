// The body of a replica process for the transports' multi-runtime tests and examples: opens its
// own database file with the adapter it is told (bun, node or wasm), joins the transport the
// caller attaches, writes on a timer (its own rows and five contended ones), and answers
// commands on stdin, one JSON object per line: {"cmd":"stop"} {"cmd":"dump"} {"cmd":"exit"}, and
// whatever the transport handles itself. It reports on stdout, one JSON object per line:
// ready, stopped, dump. The caller passes `load` (its own dynamic import) so that the adapters
// resolve from the caller's package.
import { createHash } from "node:crypto";
import { createInterface } from "node:readline";

/** The test table of the transports' tests and replica processes (its own module: a Worker imports it too). */
import { MIGRATIONS } from "./items-migrations.mjs";

export { MIGRATIONS };

/** Opens the file with the configured adapter: the replica and a query helper. */
async function open(cfg, load, logger) {
  const options = { peerId: cfg.peerId, heartbeatMs: cfg.heartbeatMs ?? 200, logger };
  if (cfg.adapter === "bun") {
    const { Database } = await load("bun:sqlite");
    const { openReplica } = await load("@replic/adapter-bun");
    const db = new Database(cfg.db);
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;");
    return { replica: openReplica(db, options), all: (sql) => db.query(sql).all() };
  }
  if (cfg.adapter === "node") {
    const { default: Database } = await load("better-sqlite3");
    const { openReplica } = await load("@replic/adapter-node");
    const db = new Database(cfg.db);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    return { replica: openReplica(db, options), all: (sql) => db.prepare(sql).all() };
  }
  // openDatabase recovers the file after a SIGKILLed run (it leaves a journal and a lock).
  const { openDatabase, openReplica } = await load("@replic/adapter-wasm");
  const db = openDatabase(cfg.db);
  return { replica: openReplica(db, options), all: (sql) => db.all(sql) };
}

/**
 * Runs the process. `attach(replica, cfg, logger)` joins the transport and returns
 * `{ ready?: object, links(): number, command?(c), close(): Promise<void> }`.
 */
export async function runReplicaProcess({ load, attach }) {
  const cfg = JSON.parse(process.argv[2]);
  const logger = { warn: (m) => cfg.verbose && process.stderr.write(`${cfg.name}: ${m}\n`) };
  const { replica, all } = await open(cfg, load, logger);
  replica.migrate(MIGRATIONS);
  const out = (o) => process.stdout.write(JSON.stringify({ name: cfg.name, ...o }) + "\n");
  const transport = await attach(replica, cfg, logger);

  // Resume numbering after a restart: every row this peer wrote is in its own file.
  let written = Number(all(`SELECT count(*) AS n FROM items WHERE id LIKE '${cfg.name}-%'`)[0].n);
  const writer = setInterval(() => {
    replica.transaction(() => {
      for (let k = 0; k < (cfg.rowsPerTick ?? 3); k++) {
        written++;
        replica.upsert("items", { id: `${cfg.name}-${written}`, v: written, body: cfg.name });
      }
      replica.upsert("items", { id: `shared-${written % 5}`, v: written, body: cfg.name }); // contended rows
    });
  }, cfg.writeEveryMs ?? 20);

  out({ ev: "ready", ...transport.ready, peerId: replica.peerId, written });

  createInterface({ input: process.stdin }).on("line", async (line) => {
    const c = JSON.parse(line);
    transport.command?.(c);
    if (c.cmd === "stop") {
      clearInterval(writer);
      out({ ev: "stopped", written });
    }
    if (c.cmd === "dump") {
      const rows = all("SELECT id, v, body FROM items ORDER BY id");
      const own = {};
      for (const r of rows) {
        const name = r.id.split("-")[0];
        if (name !== "shared") own[name] = (own[name] ?? 0) + 1;
      }
      out({ ev: "dump", count: rows.length, own, hash: createHash("sha256").update(JSON.stringify(rows)).digest("hex"), links: transport.links() });
    }
    if (c.cmd === "exit") {
      clearInterval(writer);
      await transport.close();
      replica.close();
      process.exit(0);
    }
  });
}
