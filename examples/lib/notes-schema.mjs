// The notes table of the examples, in a module of its own: the edge hub's Worker imports it too.
export const MIGRATIONS = [
  {
    up: `CREATE TABLE notes (id TEXT PRIMARY KEY, author TEXT, n INTEGER, text TEXT);
         CREATE TABLE notes_patches (id TEXT, author TEXT, n INTEGER, text TEXT,
           _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL, _nulls TEXT,
           PRIMARY KEY (id, _patchedAt, _peerId, _sequenceId)) WITHOUT ROWID;
         CREATE UNIQUE INDEX notes_patches_seq ON notes_patches (_peerId, _sequenceId);`,
    down: "DROP TABLE notes_patches; DROP TABLE notes;",
  },
];
