/** Retries transient failures with exponential back-off and full jitter. */
import { TransientS3Error } from "./errors.js";

export interface RetryPolicy {
  retries: number;
  baseMs: number;
  maxMs?: number;
  /** Called before each wait: attempt number (1-based), the delay and the failure. */
  onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
}

export async function withRetry<T>(fn: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  const max = policy.maxMs ?? 10_000;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof TransientS3Error) || attempt >= policy.retries) throw err;
      const cap = Math.min(max, policy.baseMs * 2 ** attempt);
      const delay = cap / 2 + Math.random() * (cap / 2);
      policy.onRetry?.(attempt + 1, delay, err);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
