/**
 * The messages between a page and the replica in its dedicated worker. Plain objects sent with
 * postMessage (structured clone keeps bigint, Uint8Array and nested rows exact), so no codec.
 *
 *   page → worker   { id, method, args }                    a call; answered once
 *   worker → page   { id, ok: true, value }                 its result
 *                   { id, ok: false, error }                its error (name, message, ReplicError code)
 *                   { event, payload }                      merge, stale, ready, fatal, or an app's own event
 *
 * `fatal` (payload: SerializedError) says the worker cannot serve: `ready` and every call reject.
 */
import { ReplicError } from "@replic/core";

/** Where messages are posted and heard: a Worker (page side), the worker's `self`, a MessagePort. */
export interface MessageEndpoint {
  postMessage(message: unknown): void;
  addEventListener(type: "message", listener: (e: { data: unknown }) => void): void;
  removeEventListener(type: "message", listener: (e: { data: unknown }) => void): void;
}

export interface CallMessage {
  id: number;
  method: string;
  args: unknown[];
}

export interface SerializedError {
  name: string;
  message: string;
  /** ReplicError code, when it was one. */
  code?: string;
}

export type ReplyMessage = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: SerializedError };

export interface EventMessage {
  event: string;
  payload: unknown;
}

/** What the worker reports once it serves calls. */
export interface ReadyInfo {
  peerId: number;
  storage?: string;
  slot?: number | null;
  [key: string]: unknown;
}

/** Serializes an error for postMessage: name, message, and the ReplicError code if any. */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof ReplicError) return { name: err.name, message: err.message, code: err.code };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: "Error", message: String(err) };
}

/**
 * For the worker: tells the page that it cannot serve (opening the database failed, say), so the
 * page's `ready` and calls reject with this error instead of waiting forever.
 */
export function reportFatal(endpoint: Pick<MessageEndpoint, "postMessage">, err: unknown): void {
  endpoint.postMessage({ event: "fatal", payload: serializeError(err) });
}

export function isCallMessage(data: unknown): data is CallMessage {
  const m = data as CallMessage;
  return typeof m === "object" && m !== null && typeof m.id === "number" && typeof m.method === "string" && Array.isArray(m.args);
}

export function isReplyMessage(data: unknown): data is ReplyMessage {
  const m = data as ReplyMessage;
  return typeof m === "object" && m !== null && typeof m.id === "number" && typeof m.ok === "boolean";
}

export function isEventMessage(data: unknown): data is EventMessage {
  const m = data as EventMessage;
  return typeof m === "object" && m !== null && typeof m.event === "string";
}
