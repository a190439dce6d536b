/**
 * The manifest: a small JSON object written after the snapshot object it describes. Only a
 * snapshot with a manifest counts, so a half-uploaded one is never taken as the newest.
 *
 * Keys: `<prefix>/<peerId>/snap-<createdMs, 15 digits>-<random>.db.gz` and the same name with
 * `.manifest.json`. Sorting names by time needs no extra GET.
 */
import { SnapshotError } from "./errors.js";

export const MANIFEST_FORMAT = "replic-snapshot";
export const MANIFEST_VERSION = 1;

export interface ManifestHead {
  peerId: number;
  contiguous: number;
  highest: number;
}

export interface SnapshotManifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  /** Peer that took the snapshot (the restored copy gets a new id). */
  peerId: number;
  /** Per-origin heads held by the snapshot. */
  heads: ManifestHead[];
  /** Applied migrations (rows of `_replic_migrations`). */
  schemaVersion: number;
  /** Replicated tables. */
  tables: string[];
  createdAt: string;
  createdMs: number;
  /** Key of the gzip object, relative to the bucket. */
  object: string;
  compression: "gzip";
  /** Bytes and sha256 (hex) of the object as stored. */
  size: number;
  sha256: string;
  /** Bytes and sha256 of the SQLite file inside. */
  dbSize: number;
  dbSha256: string;
}

const NAME = /^snap-(\d{15})-([0-9a-f]{8})\.(db\.gz|manifest\.json)$/;

export function snapshotBaseName(createdMs: number, random: string): string {
  return `snap-${String(createdMs).padStart(15, "0")}-${random}`;
}

/** `{ createdMs, kind }` from a key's last segment, or undefined for keys that are not ours. */
export function parseSnapshotKey(key: string): { createdMs: number; base: string; kind: "object" | "manifest" } | undefined {
  const name = key.slice(key.lastIndexOf("/") + 1);
  const m = NAME.exec(name);
  if (!m) return undefined;
  return { createdMs: Number(m[1]), base: key.slice(0, key.length - m[3]!.length - 1), kind: m[3] === "db.gz" ? "object" : "manifest" };
}

const isUint = (v: unknown, max = Number.MAX_SAFE_INTEGER): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max;
const isHex64 = (v: unknown): v is string => typeof v === "string" && /^[0-9a-f]{64}$/.test(v);

/** Parses and checks untrusted manifest text; throws SNAPSHOT_CORRUPT on anything off. */
export function parseManifest(text: string, key: string): SnapshotManifest {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new SnapshotError("SNAPSHOT_CORRUPT", `manifest ${key} is not JSON`);
  }
  const bad = (what: string): never => {
    throw new SnapshotError("SNAPSHOT_CORRUPT", `manifest ${key}: ${what}`);
  };
  if (typeof m !== "object" || m === null) bad("not an object");
  if (m.format !== MANIFEST_FORMAT) bad(`format is not ${MANIFEST_FORMAT}`);
  if (m.version !== MANIFEST_VERSION) bad(`unsupported version ${String(m.version)}`);
  if (!isUint(m.peerId, 0xffffffff)) bad("peerId");
  if (!Array.isArray(m.heads) || !m.heads.every((h: any) => isUint(h?.peerId, 0xffffffff) && isUint(h?.contiguous) && isUint(h?.highest))) bad("heads");
  if (!isUint(m.schemaVersion)) bad("schemaVersion");
  if (!Array.isArray(m.tables) || !m.tables.every((t) => typeof t === "string")) bad("tables");
  if (!isUint(m.createdMs) || typeof m.createdAt !== "string") bad("created time");
  if (typeof m.object !== "string" || parseSnapshotKey(m.object)?.kind !== "object") bad("object key");
  if (m.compression !== "gzip") bad("compression");
  if (!isUint(m.size) || !isHex64(m.sha256) || !isUint(m.dbSize) || !isHex64(m.dbSha256)) bad("size or checksum");
  return m as unknown as SnapshotManifest;
}
