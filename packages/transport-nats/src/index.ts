/** @replic/transport-nats: replic over a NATS server, members discovered through the cluster subject. */
export { joinNats, type NatsOptions, type NatsMembership, type LinkableReplica, type MembershipState, type MembershipStateChange, type MembershipEvents } from "./join.js";
export { AuthFailedError } from "./auth-error.js";
export { encodeFrame, decodeFrame, type NatsFrame } from "./frame.js";
