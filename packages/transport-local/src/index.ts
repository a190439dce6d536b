/** @replic/transport-local: links inside one process (tests) and across tabs / workers (BroadcastChannel). */
export { linkInProcess, type AuthResult, type InProcessLink, type InProcessOptions } from "./in-process.js";
export { joinBroadcastChannel, type BroadcastChannelLink, type BroadcastChannelOptions } from "./broadcast-channel.js";
export type { LinkableReplica, LinkLogger } from "./replica-like.js";
