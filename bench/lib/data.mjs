// Deterministic data for every workload: the same rows on every binding, in every process.

/** The benchmark table. Same DDL for raw SQLite, replic and cr-sqlite. */
export const TABLE = "items";
export const ITEMS_DDL =
  "CREATE TABLE IF NOT EXISTS items(id INTEGER PRIMARY KEY NOT NULL, name TEXT, qty INTEGER, price REAL, note TEXT, deletedAt INTEGER)";
export const COLUMNS = ["id", "name", "qty", "price", "note", "deletedAt"];

export const RAW_UPSERT_SQL =
  "INSERT INTO items(id, name, qty, price, note, deletedAt) VALUES (?, ?, ?, ?, ?, ?) " +
  "ON CONFLICT(id) DO UPDATE SET name = excluded.name, qty = excluded.qty, price = excluded.price, " +
  "note = excluded.note, deletedAt = excluded.deletedAt";

const NOTES = ["", "fragile", "back-ordered", "ships in 2 days", "discontinued soon", "gift wrap"];

/** Row number i (1-based) of the benchmark data set, as an object. */
export function row(i) {
  return {
    id: i,
    name: `item-${i}`,
    qty: (i * 7) % 1000,
    price: ((i * 37) % 100000) / 100,
    note: NOTES[i % NOTES.length],
    deletedAt: null,
  };
}

/** Rows first..first+count-1. */
export function rows(first, count) {
  const out = new Array(count);
  for (let k = 0; k < count; k++) out[k] = row(first + k);
  return out;
}
