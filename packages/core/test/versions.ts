// Schema versions for the upgrade tests (alien.test.ts, upgrade-property.test.ts): v1 is `items`
// without `price`, v2 adds `price`, v3 adds the `extras` table. Each `down` is stored by the
// database and run when a peer rolls back.
import { itemsDdl } from "./sim.js";

export function versionedMigrations(inlineNulls: boolean): { up: string; down: string }[] {
  return [
    { up: itemsDdl(inlineNulls).replace(/ price REAL,/g, ""), down: "DROP TABLE items_patches; DROP TABLE items;" },
    {
      up: "ALTER TABLE items ADD COLUMN price REAL; ALTER TABLE items_patches ADD COLUMN price REAL;",
      down: "ALTER TABLE items_patches DROP COLUMN price; ALTER TABLE items DROP COLUMN price;",
    },
    {
      up: `CREATE TABLE extras (id INTEGER PRIMARY KEY, v TEXT);
CREATE TABLE extras_patches (id INTEGER, v TEXT, _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL);`,
      down: "DROP TABLE extras_patches; DROP TABLE extras;",
    },
  ];
}
