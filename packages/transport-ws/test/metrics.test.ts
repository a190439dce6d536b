// The transport's Prometheus text goes through the core's writer: read back with a real parser,
// a hostile label value (the URL a client dials) comes back unchanged and never splits a line.
import parsePrometheus from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import { connectWebSocket, serveWebSocket } from "../src/index.js";
import { LinkCounters, renderMetrics } from "../src/metrics.js";
import { openPeer } from "./helpers.js";

const HOSTILE = 'a "quoted" \\ back\\slash\nand a newline';

describe("replic_ws_ metrics", () => {
  it("renders labels of any content so a Prometheus parser reads them back", () => {
    const c = new LinkCounters();
    c.bytesIn = 7;
    const families = parsePrometheus(renderMetrics([[{ role: "client", url: HOSTILE, peer: "" }, c]]));
    const f = families.find((x) => x.name === "replic_ws_bytes_in_total")!;
    expect(f.type).toBe("COUNTER");
    expect(f.metrics).toEqual([{ labels: { role: "client", url: HOSTILE, peer: "" }, value: "7" }]);
    expect(families.map((x) => x.name)).toHaveLength(new Set(families.map((x) => x.name)).size);
    expect(families.every((x) => x.help.length > 0)).toBe(true);
  });

  it("a client's and a server's metrics() parse, the client's URL label exactly as given", async () => {
    const a = openPeer(31, 0);
    const b = openPeer(32, 0);
    const server = await serveWebSocket(a.replica, { port: 0, host: "127.0.0.1" });
    // The URL parser drops newlines and reads `\` as `/`; the label keeps what the caller passed.
    const url = `ws://127.0.0.1:${server.port}/replic?x="q"\\\n`;
    const link = connectWebSocket(b.replica, url);
    try {
      expect(await link.linked()).toBe(31);
      const client = parsePrometheus(link.metrics()).find((x) => x.name === "replic_ws_connected")!;
      expect(client.metrics[0]!.labels).toEqual({ role: "client", url, peer: "31" });
      expect(client.metrics[0]!.value).toBe("1");
      // The server links once the client's answer to its proof arrives: a moment after the client.
      const servedValue = () => parsePrometheus(server.metrics()).find((x) => x.name === "replic_ws_connected")!.metrics.find((m) => m.labels?.peer === "32")?.value;
      for (let i = 0; i < 100 && servedValue() !== "1"; i++) await new Promise((r) => setTimeout(r, 20));
      expect(servedValue()).toBe("1");
    } finally {
      await link.close();
      await server.close();
      a.close();
      b.close();
    }
  });
});
