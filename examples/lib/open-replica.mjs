// Opens a replica on a database file with the binding of the runtime at hand: bun:sqlite under Bun,
// better-sqlite3 or node-sqlite3-wasm under Node. This is all that differs between the three.

import { MIGRATIONS } from "./notes-schema.mjs";

export { MIGRATIONS };

/** → { replica, all(sql), close() } */
export async function openReplica(binding, file, options) {
  let replica, all, closeDb;
  if (binding === "bun") {
    const { Database } = await import("bun:sqlite");
    const adapter = await import("@replic/adapter-bun");
    const db = new Database(file);
    db.exec("PRAGMA journal_mode = WAL");
    replica = adapter.openReplica(db, options);
    all = (sql) => db.query(sql).all();
    closeDb = () => db.close();
  } else if (binding === "node") {
    const { default: Database } = await import("better-sqlite3");
    const adapter = await import("@replic/adapter-node");
    const db = new Database(file);
    db.pragma("journal_mode = WAL");
    replica = adapter.openReplica(db, options);
    all = (sql) => db.prepare(sql).all();
    closeDb = () => db.close();
  } else {
    const adapter = await import("@replic/adapter-wasm");
    const db = adapter.openDatabase(file); // node-sqlite3-wasm; recovers the file after a crash by itself
    replica = adapter.openReplica(db, options);
    all = (sql) => db.all(sql);
    closeDb = () => db.close();
  }
  replica.migrate(MIGRATIONS);
  return {
    replica,
    all,
    close() {
      replica.close();
      closeDb();
    },
  };
}
