// Prelude "todos-db" (Bun): `db`, a bun:sqlite database holding the README's todos table, and
// the adapter's `patchesDdl`. The README block is inserted at the marker.
import { Database } from "bun:sqlite";
import { patchesDdl } from "@replic/adapter-bun";

const db = new Database(":memory:");
db.exec("CREATE TABLE todos (id TEXT PRIMARY KEY, title TEXT, done INTEGER, deletedAt INTEGER);");

// @block
