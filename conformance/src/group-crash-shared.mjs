// Shared by the group crash child (group-crash-child.mjs, plain ESM under Node and Bun) and the
// parent (group-crash.ts): the schema, the shape of one transaction (orders and their lines,
// all carrying the transaction's epoch), and the remote origin.

/** The origin whose transactions the receiver scenarios stream. */
export const GROUP_SENDER = 778;
/** A remote transaction: ORDERS_PER_GROUP orders, each with LINES_PER_ORDER lines (20 patches). */
export const ORDERS_PER_GROUP = 4;
export const LINES_PER_ORDER = 4;
/** A local (writer) transaction: one order and its lines (5 patches). */
export const WRITER_LINES = 4;

export const GROUP_MIGRATIONS = [
  {
    up:
      "CREATE TABLE gk_orders (id INTEGER PRIMARY KEY, epoch INTEGER, lines INTEGER);\n" +
      "CREATE TABLE gk_orders_patches (id INTEGER, epoch INTEGER, lines INTEGER, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);\n" +
      "CREATE TABLE gk_lines (order_id INTEGER, n INTEGER, epoch INTEGER, qty INTEGER, PRIMARY KEY (order_id, n));\n" +
      "CREATE TABLE gk_lines_patches (order_id INTEGER, n INTEGER, epoch INTEGER, qty INTEGER, _patchedAt INTEGER, _sequenceId INTEGER, _peerId INTEGER);",
    down: "DROP TABLE gk_lines_patches; DROP TABLE gk_lines; DROP TABLE gk_orders_patches; DROP TABLE gk_orders;",
  },
];

/** The rows of one transaction: orders `orderIds`, each with `lines` lines, all stamped `epoch`. */
export function groupRows(orderIds, lines, epoch) {
  const orders = [];
  const lineRows = [];
  for (const id of orderIds) {
    orders.push({ id, epoch, lines });
    for (let n = 0; n < lines; n++) lineRows.push({ order_id: id, n, epoch, qty: (id * 7 + n + epoch) % 97 });
  }
  return { orders, lines: lineRows };
}

/**
 * Writes one transaction over both tables; `many` writes each order's lines with upsertMany (the
 * same group either way). Returns the tokens in write order.
 */
export function writeGroup(replica, orderIds, lines, epoch, many) {
  const rows = groupRows(orderIds, lines, epoch);
  return replica.transaction(() => {
    const tokens = [];
    for (const o of rows.orders) {
      tokens.push(replica.upsert("gk_orders", o));
      const mine = rows.lines.filter((l) => l.order_id === o.id);
      if (many) tokens.push(...replica.upsertMany("gk_lines", mine));
      else for (const l of mine) tokens.push(replica.upsert("gk_lines", l));
    }
    return tokens;
  });
}
