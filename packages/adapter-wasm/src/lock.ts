/**
 * Crash recovery for node-sqlite3-wasm files.
 *
 * node-sqlite3-wasm locks a database file by creating a `<file>.lock` directory. Two things follow
 * when a process dies in the middle of a write transaction (kill -9, power loss):
 * - the directory stays, and every later write reports "database is locked";
 * - SQLite never rolls the hot journal back: its check "does another connection hold a RESERVED
 *   lock?" sees our own `.lock` directory and answers yes, so a half-written commit is read as is
 *   and the file looks corrupt.
 * `recoverAfterCrash(path)` does what SQLite's pager would have done: it plays the rollback
 * journal back (format: sqlite.org/fileformat.html, "The Rollback Journal"), truncates the file to
 * its size before the transaction, deletes the journal and removes the stale lock.
 */

interface FsLike {
  existsSync(path: string): boolean;
  rmdirSync(path: string): void;
  unlinkSync(path: string): void;
  statSync(path: string): { size: number };
  openSync(path: string, flags: string): number;
  closeSync(fd: number): void;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  ftruncateSync(fd: number, len: number): void;
  fsyncSync(fd: number): void;
}

function nodeFs(): FsLike {
  // Looked up at call time (not imported), so this package still bundles for browsers.
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = proc?.getBuiltinModule?.("node:fs") as FsLike | undefined;
  if (!fs) throw new Error("recoverAfterCrash needs Node.js >= 20.16 (process.getBuiltinModule)");
  return fs;
}

const MAGIC = [0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7];

export interface RecoveryReport {
  /** A stale `<file>.lock` directory was removed. */
  lockRemoved: boolean;
  /** Pages restored from a hot journal (0 when there was none). */
  pagesRestored: number;
}

/**
 * Call at startup, before opening `path` with node-sqlite3-wasm, and only when no other live
 * process uses the file (one process per file is node-sqlite3-wasm's normal use: it has no
 * shared-memory locking). Safe to call when nothing crashed: it then changes nothing.
 */
export function recoverAfterCrash(path: string): RecoveryReport {
  const fs = nodeFs();
  const report: RecoveryReport = { lockRemoved: false, pagesRestored: 0 };
  const journal = `${path}-journal`;
  if (fs.existsSync(journal) && fs.existsSync(path)) report.pagesRestored = rollBack(fs, path, journal);
  report.lockRemoved = clearStaleLock(path);
  return report;
}

function rollBack(fs: FsLike, dbPath: string, journalPath: string): number {
  const size = fs.statSync(journalPath).size;
  const jfd = fs.openSync(journalPath, "r");
  let restored = 0;
  let originalPages = -1;
  let pageSize = 0;
  const dfd = fs.openSync(dbPath, "r+");
  try {
    const be = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
    let off = 0;
    // A journal may hold several segments, each behind its own header at a sector boundary.
    for (;;) {
      const hdr = new Uint8Array(28);
      if (off + 28 > size || fs.readSync(jfd, hdr, 0, 28, off) !== 28) break;
      if (!MAGIC.every((m, i) => hdr[i] === m)) break; // zeroed or absent header: not hot
      let nRec = be(hdr, 8);
      const nonce = be(hdr, 12);
      if (originalPages < 0) originalPages = be(hdr, 16);
      const sector = be(hdr, 20);
      const ps = be(hdr, 24);
      if (ps < 512 || ps > 65536 || (ps & (ps - 1)) !== 0 || sector < 32 || sector > 65536) break;
      if (pageSize === 0) pageSize = ps;
      const recSize = 4 + ps + 4;
      off += sector;
      if (nRec === 0xffffffff) nRec = Math.floor((size - off) / recSize);
      const rec = new Uint8Array(recSize);
      let ok = true;
      for (let i = 0; i < nRec; i++) {
        if (off + recSize > size || fs.readSync(jfd, rec, 0, recSize, off) !== recSize) {
          ok = false;
          break;
        }
        let sum = nonce;
        for (let x = ps - 200; x >= 0; x -= 200) sum = (sum + rec[4 + x]!) >>> 0;
        if (sum !== be(rec, 4 + ps)) {
          ok = false; // a record that never finished writing: the database page was not touched
          break;
        }
        const pgno = be(rec, 0);
        if (pgno >= 1) {
          fs.writeSync(dfd, rec, 4, ps, (pgno - 1) * ps);
          restored++;
        }
        off += recSize;
      }
      if (!ok) break;
      off = Math.ceil(off / sector) * sector;
    }
    if (originalPages >= 0 && pageSize > 0 && restored > 0) fs.ftruncateSync(dfd, originalPages * pageSize);
    fs.fsyncSync(dfd);
  } finally {
    fs.closeSync(dfd);
    fs.closeSync(jfd);
  }
  fs.unlinkSync(journalPath);
  return restored;
}

/** Removes only a stale `<file>.lock` directory (see recoverAfterCrash, which also does this). */
export function clearStaleLock(path: string): boolean {
  const fs = nodeFs();
  const lock = `${path}.lock`;
  if (!fs.existsSync(lock)) return false;
  fs.rmdirSync(lock);
  return true;
}
