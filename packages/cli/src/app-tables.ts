/**
 * The application's tables of a database, parents before children: what `--all` means for
 * `init-table` and `adopt`. replic's own bookkeeping (`_replic_*`), SQLite's (`sqlite_*`), the
 * `T_patches` siblings, views and virtual tables (with their shadow tables) are not among them.
 */
import type { SqliteDriver } from "@replic/core";

export function appTables(driver: SqliteDriver): string[] {
  const all = new Set(
    tableNames(driver).filter((t) => !t.startsWith("sqlite_") && !t.startsWith("_replic_")),
  );
  const names = [...all].filter((t) => !(t.endsWith("_patches") && all.has(t.slice(0, -"_patches".length)))).sort();
  return parentsFirst(driver, names);
}

/**
 * Orders tables so that a table a foreign key references comes before the table holding the key
 * (receivers then get parents first); ties and cycles (a self-reference included) keep name order.
 */
function parentsFirst(driver: SqliteDriver, names: string[]): string[] {
  const parents = new Map<string, Set<string>>();
  for (const t of names) {
    const refs = driver.prepare(`SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`).all([t]).map((r) => String(r[0]));
    parents.set(t, new Set(refs.filter((p) => p !== t && names.includes(p))));
  }
  const out: string[] = [];
  const placed = new Set<string>();
  while (out.length < names.length) {
    const ready = names.filter((t) => !placed.has(t) && [...parents.get(t)!].every((p) => placed.has(p)));
    // A cycle: take the first table left in name order and go on.
    const next = ready.length > 0 ? ready : [names.find((t) => !placed.has(t))!];
    for (const t of next) {
      out.push(t);
      placed.add(t);
    }
  }
  return out;
}

/** Ordinary tables of the main schema: not views, virtual tables (FTS, R*Tree) or their shadow tables. */
function tableNames(driver: SqliteDriver): string[] {
  try {
    return driver.prepare(`SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table'`).all([]).map((r) => String(r[0]));
  } catch {
    // Before SQLite 3.37 (no table_list pragma): sqlite_schema, without virtual tables.
    return driver
      .prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'`)
      .all([])
      .map((r) => String(r[0]));
  }
}
