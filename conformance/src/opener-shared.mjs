// Shared by opener-child.mjs (plain ESM under Node and Bun) and openers.ts: the migrations both
// sides pass, so the child and the parent agree on the schema.

const ITEMS = {
  up:
    "CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER, price REAL, name TEXT, data BLOB, deletedAt INTEGER);\n" +
    "CREATE TABLE items_patches (id INTEGER, qty INTEGER, price REAL, name TEXT, data BLOB, deletedAt INTEGER,\n" +
    "  _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);",
  down: "DROP TABLE items_patches; DROP TABLE items;",
};
const TAGS = {
  up: "CREATE TABLE tags (id TEXT PRIMARY KEY, label TEXT); CREATE TABLE tags_patches (id TEXT, label TEXT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);",
  down: "DROP TABLE tags_patches; DROP TABLE tags;",
};
/** Makes `tags` local-only, after enough work that a kill can land inside the migration. */
const DROP_TAGS_PATCHES = {
  up:
    "CREATE TABLE scratch (x INTEGER PRIMARY KEY, y TEXT);\n" +
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000) INSERT INTO scratch SELECT x, hex(randomblob(16)) FROM c;\n" +
    "DROP TABLE tags_patches;",
  down: "",
};

export const OPENER_MIGRATIONS = [ITEMS, TAGS];
export const DROP_MIGRATIONS = [ITEMS, TAGS, DROP_TAGS_PATCHES];
