// Tables and helpers shared by the scope tests: a table keyed by (id, tenantId) as in the README,
// a text-keyed one, a STRICT one with a blob key, and one no scope names.
import type { SqlValue } from "../src/driver.js";
import { createReplica, encodeMessage, timestampFromMs, type Replica, type ReplicaOptions } from "../src/index.js";
import { testDriver } from "./helpers.js";

export const SCOPE_DDL = `CREATE TABLE items (id INTEGER NOT NULL, tenantId INTEGER NOT NULL, name TEXT, PRIMARY KEY (id, tenantId));
CREATE TABLE items_patches (id INTEGER, tenantId INTEGER, name TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
CREATE TABLE notes_patches (id INTEGER, body TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`;
export const TAGS_DDL = `CREATE TABLE tags (tag TEXT PRIMARY KEY, color TEXT);
CREATE TABLE tags_patches (tag TEXT, color TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);
CREATE TABLE files (k BLOB PRIMARY KEY, n INTEGER) STRICT;
CREATE TABLE files_patches (k BLOB, n INTEGER, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL) STRICT;`;
export const SCOPE_MIGRATIONS = [
  { up: SCOPE_DDL, down: "DROP TABLE items_patches; DROP TABLE items; DROP TABLE notes_patches; DROP TABLE notes;" },
  { up: TAGS_DDL, down: "DROP TABLE tags_patches; DROP TABLE tags; DROP TABLE files_patches; DROP TABLE files;" },
];

export const T0 = 1_700_000_000_000;

/** A database with the scope tables already created (a scope is checked against them at open). */
export function scopeDb(ddl = `${SCOPE_DDL}\n${TAGS_DDL}`) {
  const d = testDriver();
  d.exec(ddl);
  return d;
}

export function openScoped(peerId: number, options: ReplicaOptions = {}, d = scopeDb()) {
  const warnings: string[] = [];
  const r: Replica = createReplica(d, { peerId, heartbeatMs: 0, retentionMs: 0, logger: { warn: (m) => void warnings.push(m) }, ...options });
  const all = (sql: string) => d.db.prepare(sql).raw(true).all() as unknown[][];
  const items = () => all("SELECT tenantId, id, name FROM items ORDER BY tenantId, id");
  const itemPatches = () => all("SELECT tenantId, id, name, _peerId, _sequenceId FROM items_patches ORDER BY _peerId, _sequenceId");
  const metric = (name: string) => {
    const line = r.metrics().split("\n").find((l) => l.startsWith(`replic_${name} `));
    return line === undefined ? undefined : Number(line.split(" ")[1]);
  };
  return { r, d, db: d.db, warnings, all, items, itemPatches, metric };
}

export interface ItemPatch {
  peer: number;
  seq: number;
  tenantId: SqlValue;
  id: number;
  name?: string;
  table?: string;
}

/** A patches message of `items` rows (or of `table`, with the same columns). */
export function itemsMessage(...ps: ItemPatch[]): Uint8Array {
  return encodeMessage({
    kind: "patches",
    patches: ps.map((p) => ({
      table: p.table ?? "items",
      peerId: p.peer,
      seq: p.seq,
      patchedAt: timestampFromMs(T0 + p.seq),
      values: { id: p.id, tenantId: p.tenantId, name: p.name ?? `${p.peer}.${p.seq}` },
    })),
  });
}

/** The code of the ReplicError `fn` throws (or a text saying it threw something else or nothing). */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string })?.code ?? `not a ReplicError: ${String(e)}`;
  }
  return "no error";
}
