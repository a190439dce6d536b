// One spoke of the edge-hub example: `spoke.mjs <name> <bun|node|wasm> <db file> <hub URL>`.
// It opens its own file and dials the Durable Object hub, as it would dial any replic hub.
import { connectWebSocket } from "@replic/transport-ws";
import { openReplica } from "../lib/open-replica.mjs";
import { peerLoop } from "../lib/peer-loop.mjs";

const [name, binding, file, hubUrl] = process.argv.slice(2);
const opened = await openReplica(binding, file, { heartbeatMs: 200 });
const link = connectWebSocket(opened.replica, hubUrl, { secret: "edge-hub-example" });
const say = peerLoop(name, opened, () => link.close());
say({ ev: "ready", peerId: opened.replica.peerId, runtime: typeof Bun === "object" ? `Bun ${Bun.version}` : `Node ${process.version}` });
