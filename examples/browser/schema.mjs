// The demo's one replicated table, shared by the browser worker and the Node hub. A todo is never
// deleted: `deletedAt` marks it deleted (and setting it back to NULL restores it).
export const TODO_MIGRATIONS = [
  {
    up: `CREATE TABLE todos (
           id TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '', done INTEGER NOT NULL DEFAULT 0,
           createdAt INTEGER, deletedAt INTEGER);
         CREATE TABLE todos_patches (
           id TEXT, title TEXT, done INTEGER, createdAt INTEGER, deletedAt INTEGER,
           _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL, _nulls TEXT,
           PRIMARY KEY (id, _patchedAt, _peerId, _sequenceId)) WITHOUT ROWID;
         CREATE UNIQUE INDEX todos_patches_seq ON todos_patches (_peerId, _sequenceId);`,
    down: `DROP TABLE todos_patches; DROP TABLE todos;`,
  },
];
