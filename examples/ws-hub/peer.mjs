// One peer of the ws-hub example: `peer.mjs <name> <bun|node|wasm> <db file> [hub URL]`.
// Without a hub URL it is the hub and serves WebSocket; otherwise it dials the hub.
import { connectWebSocket, serveWebSocket } from "@replic/transport-ws";
import { openReplica } from "../lib/open-replica.mjs";
import { peerLoop } from "../lib/peer-loop.mjs";

const [name, binding, file, hubUrl] = process.argv.slice(2);
const opened = await openReplica(binding, file, { heartbeatMs: 200 });
const secret = "ws-hub-example"; // both sides prove it by HMAC; it never crosses the wire

let stop;
if (!hubUrl) {
  const server = await serveWebSocket(opened.replica, { port: 0, secret });
  stop = () => server.close();
  process.stdout.write(JSON.stringify({ ev: "listening", url: `ws://127.0.0.1:${server.port}/replic` }) + "\n");
} else {
  const link = connectWebSocket(opened.replica, hubUrl, { secret });
  stop = () => link.close();
}
const say = peerLoop(name, opened, stop);
say({ ev: "ready", peerId: opened.replica.peerId, runtime: typeof Bun === "object" ? `Bun ${Bun.version}` : `Node ${process.version}` });
