/** Progress events of snapshot, upload, download and restore work. */
export type SnapshotPhase = "snapshot" | "compress" | "upload" | "download" | "verify" | "install" | "prune";

export interface ProgressEvent {
  phase: SnapshotPhase;
  /** Bytes done in this phase (0 for phases without bytes). */
  bytes: number;
  /** Bytes in total, when known. */
  total?: number;
}

export interface RetryEvent {
  attempt: number;
  delayMs: number;
  error: unknown;
}

export interface ProgressCallbacks {
  onProgress?: (e: ProgressEvent) => void;
  onRetry?: (e: RetryEvent) => void;
}
