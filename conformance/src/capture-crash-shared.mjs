// Shared by the capture crash child (capture-crash-child.mjs, plain ESM under Node and Bun) and
// the parent (capture-crash.ts): the captured table and the plain SQL one transaction runs.

/** A captured table: `epoch` is set only by the INSERT of a row, `v` later by an UPDATE. */
export const CAPTURE_MIGRATIONS = [
  {
    up:
      "CREATE TABLE cap_items (id INTEGER PRIMARY KEY, epoch INTEGER, v INTEGER, label TEXT);\n" +
      "CREATE TABLE cap_items_patches (id INTEGER, epoch INTEGER, v INTEGER, label TEXT, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);",
    down: "DROP TABLE cap_items_patches; DROP TABLE cap_items;",
  },
];

/**
 * The plain SQL of application transaction `id`: insert row `id`, set `v` of the row before it
 * (one statement each, in one transaction). Also a transaction that rolls back, writing a
 * negative id: it must never replicate.
 */
export function captureTransaction(id) {
  return `BEGIN; INSERT INTO cap_items (id, epoch, v, label) VALUES (${id}, ${id}, 0, 'row-${id}'); UPDATE cap_items SET v = 1 WHERE id = ${id - 1}; COMMIT;`;
}
export function rolledBackTransaction(id) {
  return `BEGIN; INSERT INTO cap_items (id, epoch, v) VALUES (${-id}, ${id}, 0); UPDATE cap_items SET v = 2 WHERE id = ${id - 1}; ROLLBACK;`;
}
