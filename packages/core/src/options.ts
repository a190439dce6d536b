/**
 * Replica options: what a caller may set, the defaults, and the checks. Every number is checked
 * once here, so the rooms can trust what they are handed.
 */
import type { SqlValue } from "./driver.js";
import { ReplicError } from "./errors.js";
import { isUint32 } from "./ids.js";
import { DEFAULT_LIMITS, DEFAULT_MAX_GROUP_PATCHES, type DecodeLimits } from "./wire/types.js";

export interface Logger {
  warn(message: string, detail?: unknown): void;
  debug?(message: string, detail?: unknown): void;
}

export interface ReplicaOptions {
  /** uint32 identity of this peer; generated and persisted in the database when absent. */
  peerId?: number;
  /** Heartbeat / anti-entropy period in ms. 0 = no timer; call tick(). Default 1000. */
  heartbeatMs?: number;
  /** Wall clock in ms. Default Date.now. */
  now?: () => number;
  /**
   * A remote clock further ahead of ours than this (ms) is not followed, and a patch stamped
   * further ahead is held until our clock comes within the bound. Default 60 000.
   */
  maxClockDriftMs?: number;
  /** Patches older than this (ms) may be garbage-collected. Default 7 days. 0 = keep forever. */
  retentionMs?: number;
  /** Most patches in one outgoing message. Default 5000. */
  maxBatchPatches?: number;
  /** Most patches requested from one neighbour and not yet received. Default 50 000. */
  maxInflightPatches?: number;
  /** A requested range nothing has arrived for in this many ms (from that neighbour) is asked again, with back-off. Default 2 × heartbeat, at least 200. */
  requestTimeoutMs?: number;
  /** Most bytes of patches served to one neighbour per heartbeat round. Default 32 MiB. */
  maxServeBytes?: number;
  /** Most origins taken from one neighbour's heartbeat (the rest is ignored and counted). Default 10 000. */
  maxOrigins?: number;
  /**
   * Heartbeats to a neighbour carry only the heads changed since the previous one; every this
   * many is a full one instead (a safety net: lost ones are caught by the digest). 1 = always
   * full. Default 3600 (an hour at 1 s heartbeats: the digest already catches a lost heartbeat; a full one costs the receiver one step per origin).
   */
  fullHeartbeatEvery?: number;
  /**
   * A neighbour that has been sent the same heads in the last heartbeats (nothing changed: the
   * change, then two more carrying the digest that confirms it) gets one every this many rounds
   * only, until something changes. 1 = one every round. Default 10: an idle hub sends and
   * receives a tenth of the frames, and a change lost with the two heartbeats after it is still
   * caught by the next digest, at most 10 rounds later. Liveness is the transport's: a WebSocket
   * link pings after 10 s without a frame (it would ping in place of a more frequent heartbeat
   * anyway), and NATS says hello directly to a member after 7.5 s without a publish.
   */
  idleHeartbeatEvery?: number;
  /** Most far-future patches held at once (more are refused and counted). Default 100 000. */
  maxHeldPatches?: number;
  /**
   * Most parts of incomplete groups stored at once, waiting for the rest of their group (more are
   * refused, counted, and asked for again later). Default 2 000 000.
   */
  maxIncompletePatches?: number;
  /**
   * Most stored parts of a completed group read into memory at once; a group with more waiting
   * merges from storage a few stored rows at a time, in the same one transaction. Default 10 000.
   */
  maxGroupInMemory?: number;
  /**
   * Decoder limits for incoming messages; also the largest local patch accepted, and
   * (`maxGroupPatches`, default 2 000 000) the largest transaction written or accepted.
   */
  limits?: Partial<DecodeLimits>;
  /** Default timeout of waitFor(), ms. Default 30 000. */
  waitTimeoutMs?: number;
  logger?: Logger;
  /**
   * The rows this replica holds: per replicated table, allowed values of primary-key columns
   * (docs/scopes.md). Tables not named are held whole; absent: every row. A local write outside
   * fails with OUT_OF_SCOPE; a scope that does not fit the schema refuses the open (INVALID_SCOPE).
   */
  scope?: { readonly [table: string]: { readonly [keyColumn: string]: readonly SqlValue[] } };
  /**
   * Captured tables: plain INSERT / UPDATE (your SQL, Kysely, Drizzle) on these replicated tables,
   * issued on this connection, become patches (docs/capture.md). `true` = every replicated table.
   */
  capture?: true | readonly string[];
  /**
   * The scrub of heartbeat rounds (docs/trust.md): each round checks this many keys of the
   * replicated tables against the merge of their patches, walking each table by primary key and
   * wrapping around; a difference raises the `divergence` event. Default 25; 0 turns it off.
   */
  scrub?: { rowsPerRound?: number };
  /** What the scrub does with rows that differ: "report" (default: event, metric, status) or "rebuild" them from their patches too. */
  repair?: "report" | "rebuild";
  // Named by the design contract, not implemented by this version: openReplica refuses them
  // (INVALID_OPTION) rather than ignore them, so nobody believes they are in effect.
  /** Not supported by this version (refused): sign this replica's patches. */
  signing?: { privateKey: unknown };
  /** Not supported by this version (refused): the keys of signed origins. */
  trust?: { keys: { [peerId: number]: unknown } };
}

/**
 * Every option name openReplica knows: THE list. A new option is one line here (next to its
 * field in ReplicaOptions; the `satisfies` keeps the two in step). "supported" options are read
 * by resolveOptions; "not-yet" ones are in the design contract but refused by this version.
 * Any other name is refused with INVALID_OPTION and the closest known name. An adapter with
 * options of its own reads and removes them before handing the rest to createReplica.
 */
export const KNOWN_OPTIONS = {
  peerId: "supported",
  heartbeatMs: "supported",
  now: "supported",
  maxClockDriftMs: "supported",
  retentionMs: "supported",
  maxBatchPatches: "supported",
  maxInflightPatches: "supported",
  requestTimeoutMs: "supported",
  maxServeBytes: "supported",
  maxOrigins: "supported",
  fullHeartbeatEvery: "supported",
  idleHeartbeatEvery: "supported",
  maxHeldPatches: "supported",
  maxIncompletePatches: "supported",
  maxGroupInMemory: "supported",
  limits: "supported",
  waitTimeoutMs: "supported",
  logger: "supported",
  scope: "supported",
  capture: "supported",
  scrub: "supported",
  repair: "supported",
  signing: "not-yet",
  trust: "not-yet",
} as const satisfies Record<keyof ReplicaOptions, "supported" | "not-yet">;

/** Edit distance with adjacent transpositions (optimal string alignment), case-insensitive. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) => [i, ...new Array<number>(y.length).fill(0)]);
  for (let j = 1; j <= y.length; j++) d[0]![j] = j;
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[x.length]![y.length]!;
}

/** The known option name closest to `name`, when it is close enough to be a typo. */
export function closestOption(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const known of Object.keys(KNOWN_OPTIONS)) {
    const dist = distance(name, known);
    if (dist < bestDistance) [best, bestDistance] = [known, dist];
  }
  // A third of the name may be wrong (at least 2 edits): closer than that is a typo, not a guess.
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** Refuses option names this version does not take; `undefined` counts as absent for "not-yet" ones. */
function checkNames(options: object): void {
  for (const name of Object.keys(options)) {
    const known = (KNOWN_OPTIONS as Record<string, string>)[name];
    if (known === "supported") continue;
    if (known === "not-yet") {
      if ((options as Record<string, unknown>)[name] === undefined) continue;
      throw new ReplicError("INVALID_OPTION", `option ${name} is not supported by this version of replic (it is refused, not ignored)`);
    }
    const near = closestOption(name);
    throw new ReplicError("INVALID_OPTION", `unknown option ${JSON.stringify(name)}${near ? `; did you mean ${near}?` : ""}`);
  }
}

export interface ResolvedOptions {
  heartbeatMs: number;
  maxClockDriftMs: number;
  retentionMs: number;
  maxBatchPatches: number;
  maxInflightPatches: number;
  requestTimeoutMs: number;
  maxServeBytes: number;
  maxOrigins: number;
  fullHeartbeatEvery: number;
  idleHeartbeatEvery: number;
  maxHeldPatches: number;
  maxIncompletePatches: number;
  maxGroupInMemory: number;
  waitTimeoutMs: number;
  now: () => number;
  limits: Required<DecodeLimits>;
  logger: Logger | undefined;
  /** Captured tables: true = all, a list = those; undefined = none. */
  capture: true | readonly string[] | undefined;
  /** Keys the scrub checks per round (0: off). */
  scrubRowsPerRound: number;
  repair: "report" | "rebuild";
}

/** Keys the scrub checks per heartbeat round unless told otherwise. */
export const DEFAULT_SCRUB_ROWS_PER_ROUND = 25;

export function resolveOptions(options: ReplicaOptions): ResolvedOptions {
  if (options === null || typeof options !== "object") throw new ReplicError("INVALID_OPTION", "options must be an object");
  checkNames(options);
  const heartbeatMs = options.heartbeatMs ?? 1000;
  const numbers = {
    heartbeatMs,
    maxClockDriftMs: options.maxClockDriftMs ?? 60_000,
    retentionMs: options.retentionMs ?? 7 * 24 * 3600 * 1000,
    maxBatchPatches: options.maxBatchPatches ?? 5000,
    maxInflightPatches: options.maxInflightPatches ?? 50_000,
    requestTimeoutMs: options.requestTimeoutMs ?? Math.max(200, 2 * heartbeatMs),
    maxServeBytes: options.maxServeBytes ?? 32 * 1024 * 1024,
    maxOrigins: options.maxOrigins ?? 10_000,
    fullHeartbeatEvery: options.fullHeartbeatEvery ?? 3600,
    idleHeartbeatEvery: options.idleHeartbeatEvery ?? 10,
    maxHeldPatches: options.maxHeldPatches ?? 100_000,
    maxIncompletePatches: options.maxIncompletePatches ?? 2_000_000,
    maxGroupInMemory: options.maxGroupInMemory ?? 10_000,
    waitTimeoutMs: options.waitTimeoutMs ?? 30_000,
  };
  for (const [k, v] of Object.entries(numbers)) {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new ReplicError("INVALID_OPTION", `option ${k} must be a non-negative number, got ${String(v)}`);
    }
  }
  for (const k of ["maxBatchPatches", "maxOrigins", "fullHeartbeatEvery", "idleHeartbeatEvery"] as const) {
    if (numbers[k] < 1) throw new ReplicError("INVALID_OPTION", `option ${k} must be at least 1`);
  }
  if (options.peerId !== undefined && !isUint32(options.peerId)) {
    throw new ReplicError("INVALID_OPTION", `peerId must be a uint32, got ${String(options.peerId)}`);
  }
  if (options.now !== undefined && typeof options.now !== "function") throw new ReplicError("INVALID_OPTION", "now must be a function");
  const limits: Required<DecodeLimits> = { ...DEFAULT_LIMITS, maxGroupPatches: DEFAULT_MAX_GROUP_PATCHES, ...options.limits };
  for (const [k, v] of Object.entries(limits)) {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 1) throw new ReplicError("INVALID_OPTION", `limits.${k} must be a positive number`);
  }
  const capture = options.capture;
  if (capture !== undefined && capture !== true && !(Array.isArray(capture) && capture.every((t) => typeof t === "string" && t.length > 0))) {
    throw new ReplicError("INVALID_OPTION", "capture must be true or an array of table names");
  }
  const scrub = options.scrub;
  if (scrub !== undefined && (scrub === null || typeof scrub !== "object" || Object.keys(scrub).some((k) => k !== "rowsPerRound"))) {
    throw new ReplicError("INVALID_OPTION", "scrub must be an object { rowsPerRound }");
  }
  const scrubRowsPerRound = scrub?.rowsPerRound ?? DEFAULT_SCRUB_ROWS_PER_ROUND;
  if (!Number.isSafeInteger(scrubRowsPerRound) || scrubRowsPerRound < 0) {
    throw new ReplicError("INVALID_OPTION", `scrub.rowsPerRound must be a non-negative integer, got ${String(scrubRowsPerRound)}`);
  }
  const repair = options.repair ?? "report";
  if (repair !== "report" && repair !== "rebuild") throw new ReplicError("INVALID_OPTION", `repair must be "report" or "rebuild", got ${String(repair)}`);
  return {
    ...numbers,
    now: options.now ?? Date.now,
    limits,
    logger: options.logger,
    capture: capture === undefined ? undefined : capture === true ? true : [...capture],
    scrubRowsPerRound,
    repair,
  };
}
