/** @replic/transport-nats: replic over a NATS server, members discovered through the cluster subject. */
export { joinNats, type NatsOptions, type NatsMembership, type LinkableReplica } from "./join.js";
export { encodeFrame, decodeFrame, type NatsFrame } from "./frame.js";
