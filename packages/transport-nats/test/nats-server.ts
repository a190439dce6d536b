// Starts the Debian nats-server on a free loopback port for a test, and restarts it on that port.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { freePort } from "@replic/conformance/peer-process";

export class NatsServer {
  private child: ChildProcess | undefined;
  /** Extra command-line flags, e.g. ["--user", "u", "--pass", "p"] or ["--auth", "token"]; kept across restarts unless changed. */
  args: string[] = [];
  private constructor(readonly port: number) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async start(args: string[] = []): Promise<NatsServer> {
    if (spawnSync("nats-server", ["--version"]).status !== 0) {
      throw new Error("nats-server is not installed (Debian: apt-get install -y nats-server; .ci/run does this)");
    }
    const s = new NatsServer(await freePort());
    s.args = args;
    await s.up();
    return s;
  }

  async up(): Promise<void> {
    this.child = spawn("nats-server", ["-a", "127.0.0.1", "-p", String(this.port), ...this.args], { stdio: "ignore" });
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
