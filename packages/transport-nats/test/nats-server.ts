// Starts the Debian nats-server on a free loopback port for a test, and restarts it on that port.
// Found on PATH or in /usr/sbin, where Debian puts it (`npm test` installs it when missing).
import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { freePort } from "@replic/conformance/peer-process";
import { findTool, installCommand, SYSTEM_TOOLS } from "../../../scripts/system-tools.mjs";

export class NatsServer {
  private child: ChildProcess | undefined;
  /** Extra command-line flags, e.g. ["--user", "u", "--pass", "p"] or ["--auth", "token"]; kept across restarts unless changed. */
  args: string[] = [];
  private constructor(
    readonly port: number,
    private readonly binary: string,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async start(args: string[] = []): Promise<NatsServer> {
    const binary = findTool("nats-server");
    if (!binary) {
      const tool = SYSTEM_TOOLS.filter((t) => t.name === "nats-server");
      throw new Error(`nats-server is not installed: run \`${installCommand(tool)}\` (npm test does this when run as root)`);
    }
    const s = new NatsServer(await freePort(), binary);
    s.args = args;
    await s.up();
    return s;
  }

  async up(): Promise<void> {
    this.child = spawn(this.binary, ["-a", "127.0.0.1", "-p", String(this.port), ...this.args], { stdio: "ignore" });
    const end = Date.now() + 10_000;
    while (!(await canConnect(this.port))) {
      if (Date.now() > end) throw new Error("nats-server did not start");
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async down(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await gone;
  }

  async restart(pauseMs = 500): Promise<void> {
    await this.down();
    await new Promise((r) => setTimeout(r, pauseMs));
    await this.up();
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
