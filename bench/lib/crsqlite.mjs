// A small synchronous binding to cr-sqlite compiled to WASM (the `crsqlite-sync` build shipped in
// @vlcn.io/wa-sqlite), used by the cr-sqlite side-by-side workload.
//
// Why not @vlcn.io/crsqlite-wasm's own DB class: it wraps every sqlite3_step in a Promise and a
// mutex (it is built for the browser's async VFS). Benchmarking that would measure the Promise
// machinery, not cr-sqlite. Here every call goes straight to the exported C functions, the same
// way node-sqlite3-wasm (replic's WASM binding) does, so both sides pay a comparable binding cost.
// The .wasm file is read from node_modules; nothing is fetched.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

const SQLITE_OK = 0;
const SQLITE_ROW = 100;
const SQLITE_DONE = 101;
const OPEN_FLAGS = 0x02 /* READWRITE */ | 0x04 /* CREATE */ | 0x40 /* URI */;

let modulePromise = null;

function distDir() {
  const pkg = require.resolve("@vlcn.io/wa-sqlite/package.json");
  return join(dirname(pkg), "dist");
}

/** Loads (once) the synchronous cr-sqlite WASM module. */
export async function loadCrsqlite() {
  if (!modulePromise) {
    modulePromise = (async () => {
      const dir = distDir();
      const { default: factory } = await import(join(dir, "crsqlite-sync.mjs"));
      const wasmBinary = readFileSync(join(dir, "crsqlite-sync.wasm"));
      const Module = await factory({ wasmBinary, print: () => {}, printErr: () => {} });
      return Module;
    })();
  }
  return modulePromise;
}

export class CrDatabase {
  constructor(M, filename = ":memory:") {
    this.M = M;
    this.tmp = M._malloc(8);
    const name = this.#cstr(filename);
    const rc = M._sqlite3_open_v2(name, this.tmp, OPEN_FLAGS, 0);
    M._sqlite3_free(name);
    this.db = M.getValue(this.tmp, "*");
    this.#check(rc);
    this.stmts = [];
  }

  #cstr(s) {
    const n = this.M.lengthBytesUTF8(s) + 1;
    const p = this.M._sqlite3_malloc(n);
    this.M.stringToUTF8(s, p, n);
    return p;
  }

  #check(rc) {
    if (rc !== SQLITE_OK) {
      const msg = this.db ? this.M.UTF8ToString(this.M._sqlite3_errmsg(this.db)) : `open failed`;
      throw new Error(`cr-sqlite: ${msg} (rc=${rc})`);
    }
  }

  exec(sql) {
    const p = this.#cstr(sql);
    const rc = this.M._sqlite3_exec(this.db, p, 0, 0, 0);
    this.M._sqlite3_free(p);
    this.#check(rc);
  }

  prepare(sql) {
    const p = this.#cstr(sql);
    const rc = this.M._sqlite3_prepare_v2(this.db, p, -1, this.tmp, 0);
    this.M._sqlite3_free(p);
    this.#check(rc);
    const st = new CrStatement(this, this.M.getValue(this.tmp, "*"));
    this.stmts.push(st);
    return st;
  }

  close() {
    for (const s of this.stmts) s.finalize();
    this.stmts = [];
    try {
      this.exec("SELECT crsql_finalize()");
    } catch {
      /* not a cr-sqlite db */
    }
    this.M._sqlite3_close(this.db);
    this.M._free(this.tmp);
    this.db = 0;
  }

  _err(rc) {
    this.#check(rc);
  }
}

const FREE = -1; // SQLITE_TRANSIENT: SQLite copies the value

class CrStatement {
  constructor(db, ptr) {
    this.db = db;
    this.M = db.M;
    this.ptr = ptr;
  }

  #bind(params) {
    const M = this.M;
    const s = this.ptr;
    for (let i = 0; i < params.length; i++) {
      const v = params[i];
      const idx = i + 1;
      let rc;
      if (v === null || v === undefined) rc = M._sqlite3_bind_null(s, idx);
      else if (typeof v === "number") {
        if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) rc = M._sqlite3_bind_int(s, idx, v);
        else if (Number.isInteger(v)) {
          const b = BigInt(v);
          rc = M._sqlite3_bind_int64(s, idx, Number(b & 0xffffffffn), Number(b >> 32n));
        } else rc = M._sqlite3_bind_double(s, idx, v);
      } else if (typeof v === "bigint") {
        rc = M._sqlite3_bind_int64(s, idx, Number(v & 0xffffffffn), Number(BigInt.asIntN(32, v >> 32n)));
      } else if (typeof v === "string") {
        const n = M.lengthBytesUTF8(v) + 1;
        const p = M._sqlite3_malloc(n);
        M.stringToUTF8(v, p, n);
        rc = M._sqlite3_bind_text(s, idx, p, n - 1, FREE);
        M._sqlite3_free(p);
      } else if (v instanceof Uint8Array) {
        const p = M._sqlite3_malloc(v.length || 1);
        M.HEAPU8.set(v, p);
        rc = M._sqlite3_bind_blob(s, idx, p, v.length, FREE);
        M._sqlite3_free(p);
      } else throw new Error(`cannot bind ${typeof v}`);
      if (rc !== SQLITE_OK) this.db._err(rc);
    }
  }

  #column(i) {
    const M = this.M;
    const s = this.ptr;
    switch (M._sqlite3_column_type(s, i)) {
      case 1: {
        const lo = M._sqlite3_column_int64(s, i);
        const hi = M.getTempRet0();
        if ((hi === 0 && lo >= 0) || (hi === -1 && lo < 0)) return lo;
        const big = (BigInt(hi) << 32n) | (BigInt(lo) & 0xffffffffn);
        return Number.isSafeInteger(Number(big)) ? Number(big) : big;
      }
      case 2:
        return M._sqlite3_column_double(s, i);
      case 3:
        return M.UTF8ToString(M._sqlite3_column_text(s, i));
      case 4: {
        const n = M._sqlite3_column_bytes(s, i);
        const p = M._sqlite3_column_blob(s, i);
        return M.HEAPU8.slice(p, p + n);
      }
      default:
        return null;
    }
  }

  /** Runs to completion; returns nothing. */
  run(params = []) {
    const M = this.M;
    this.#bind(params);
    const rc = M._sqlite3_step(this.ptr);
    M._sqlite3_reset(this.ptr);
    if (rc !== SQLITE_DONE && rc !== SQLITE_ROW) this.db._err(rc);
  }

  /** All rows, each an array of column values. */
  all(params = []) {
    const M = this.M;
    this.#bind(params);
    const rows = [];
    const n = M._sqlite3_column_count(this.ptr);
    for (;;) {
      const rc = M._sqlite3_step(this.ptr);
      if (rc === SQLITE_ROW) {
        const row = new Array(n);
        for (let i = 0; i < n; i++) row[i] = this.#column(i);
        rows.push(row);
      } else if (rc === SQLITE_DONE) break;
      else {
        M._sqlite3_reset(this.ptr);
        this.db._err(rc);
      }
    }
    M._sqlite3_reset(this.ptr);
    return rows;
  }

  get(params = []) {
    return this.all(params)[0];
  }

  finalize() {
    if (this.ptr) this.M._sqlite3_finalize(this.ptr);
    this.ptr = 0;
  }
}
