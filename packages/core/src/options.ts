/**
 * Replica options: what a caller may set, the defaults, and the checks. Every number is checked
 * once here, so the rooms can trust what they are handed.
 */
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
  /** Most far-future patches held at once (more are refused and counted). Default 100 000. */
  maxHeldPatches?: number;
  /**
   * Most parts of incomplete groups stored at once, waiting for the rest of their group (more are
   * refused, counted, and asked for again later). Default 2 000 000.
   */
  maxIncompletePatches?: number;
  /**
   * Decoder limits for incoming messages; also the largest local patch accepted, and
   * (`maxGroupPatches`, default 2 000 000) the largest transaction written or accepted.
   */
  limits?: Partial<DecodeLimits>;
  /** Default timeout of waitFor(), ms. Default 30 000. */
  waitTimeoutMs?: number;
  logger?: Logger;
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
  maxHeldPatches: number;
  maxIncompletePatches: number;
  waitTimeoutMs: number;
  now: () => number;
  limits: Required<DecodeLimits>;
  logger: Logger | undefined;
}

export function resolveOptions(options: ReplicaOptions): ResolvedOptions {
  if (options === null || typeof options !== "object") throw new ReplicError("INVALID_OPTION", "options must be an object");
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
    maxHeldPatches: options.maxHeldPatches ?? 100_000,
    maxIncompletePatches: options.maxIncompletePatches ?? 2_000_000,
    waitTimeoutMs: options.waitTimeoutMs ?? 30_000,
  };
  for (const [k, v] of Object.entries(numbers)) {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new ReplicError("INVALID_OPTION", `option ${k} must be a non-negative number, got ${String(v)}`);
    }
  }
  for (const k of ["maxBatchPatches", "maxOrigins"] as const) {
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
  return { ...numbers, now: options.now ?? Date.now, limits, logger: options.logger };
}
