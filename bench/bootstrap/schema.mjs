// The benchmark table: an integer key and two value columns.
export const MIGRATIONS = [
  {
    up: `CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT, n INTEGER, deletedAt INTEGER);
         CREATE TABLE items_patches (id INTEGER, title TEXT, n INTEGER, deletedAt INTEGER,
           _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL, _nulls TEXT,
           PRIMARY KEY (id, _patchedAt, _peerId, _sequenceId)) WITHOUT ROWID;
         CREATE UNIQUE INDEX items_patches_seq ON items_patches (_peerId, _sequenceId);`,
    down: "DROP TABLE items_patches; DROP TABLE items;",
  },
];
