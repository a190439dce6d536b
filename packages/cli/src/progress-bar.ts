/** A byte progress bar on stderr (drawn only on a terminal, so scripts and pipes see none). */
import cliProgress from "cli-progress";
import type { ProgressEvent } from "@replic/snapshot-s3";

export interface Bar {
  onProgress(e: ProgressEvent): void;
  stop(): void;
}

export function progressBar(enabled: boolean): Bar {
  if (!enabled || !process.stderr.isTTY) return { onProgress() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: " {phase} [{bar}] {percentage}% {value}/{total} bytes", hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let phase = "";
  let started = false;
  return {
    onProgress(e) {
      if (e.total === undefined) return;
      if (!started || e.phase !== phase) {
        if (started) bar.stop();
        bar.start(e.total, e.bytes, { phase: e.phase.padEnd(8) });
        started = true;
        phase = e.phase;
      } else bar.update(e.bytes, { phase: e.phase.padEnd(8) });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** A counting bar (rows, tables). */
export function countBar(enabled: boolean, total: number, what: string): { update(n: number): void; stop(): void } {
  if (!enabled || !process.stderr.isTTY || total === 0) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar({ stream: process.stderr, format: ` ${what} [{bar}] {percentage}% {value}/{total}`, clearOnComplete: true }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return { update: (n) => bar.update(n), stop: () => bar.stop() };
}
