// The items table of the transports' multi-process tests, importable where Node modules are not
// (the Durable Object hub of @replic/adapter-durable-object's tests runs in workerd).
export const MIGRATIONS = [
  {
    up: `CREATE TABLE items (id TEXT PRIMARY KEY, v INTEGER, body TEXT);
         CREATE TABLE items_patches (id TEXT, v INTEGER, body TEXT,
           _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL, _nulls TEXT,
           PRIMARY KEY (id, _patchedAt, _peerId, _sequenceId)) WITHOUT ROWID;
         CREATE UNIQUE INDEX items_patches_seq ON items_patches (_peerId, _sequenceId);`,
    down: "DROP TABLE items_patches; DROP TABLE items;",
  },
];
