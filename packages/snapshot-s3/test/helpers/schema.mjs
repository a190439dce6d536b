/** The replicated table the snapshot tests use. */
export const MIGRATIONS = [
  {
    up: `CREATE TABLE items (id TEXT PRIMARY KEY, title TEXT, n INTEGER, data BLOB, deletedAt INTEGER);
         CREATE TABLE items_patches (id TEXT, title TEXT, n INTEGER, data BLOB, deletedAt INTEGER,
           _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL, _nulls TEXT,
           PRIMARY KEY (id, _patchedAt, _peerId, _sequenceId)) WITHOUT ROWID;
         CREATE UNIQUE INDEX items_patches_seq ON items_patches (_peerId, _sequenceId);`,
    down: `DROP TABLE items_patches; DROP TABLE items;`,
  },
];
