// One peer of the NATS example: `peer.mjs <name> <bun|node|wasm> <db file> <nats URL>`.
// No peer list: members find each other on the cluster subject.
import { joinNats } from "@replic/transport-nats";
import { openReplica } from "../lib/open-replica.mjs";
import { peerLoop } from "../lib/peer-loop.mjs";

const [name, binding, file, servers] = process.argv.slice(2);
const opened = await openReplica(binding, file, { heartbeatMs: 200 });
const membership = await joinNats(opened.replica, { servers, cluster: "notes-example" });
const say = peerLoop(name, opened, () => membership.close());
say({ ev: "ready", peerId: opened.replica.peerId, runtime: typeof Bun === "object" ? `Bun ${Bun.version}` : `Node ${process.version}` });
