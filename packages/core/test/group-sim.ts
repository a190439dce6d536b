// The simulator of group patches, shared by every binding's tests: replicas write multi-table
// transactions (an order and its four lines, one epoch on all five rows) over a network that
// loses, duplicates, reorders and re-batches (messages of 1 to 4 patches, relays, gap repair),
// with crash-restarts, including deaths in the middle of a transaction. After every single
// receive() and every restart, every replica must show each transaction whole or not at all;
// after healing, all replicas are identical.
import { join } from "node:path";
import { CrashingDriver, rng, SimCrash, type SimBinding, type SimDriver } from "./sim.js";

export const ORDERS_DDL = `
CREATE TABLE orders (id TEXT PRIMARY KEY, total INTEGER, epoch INTEGER);
CREATE TABLE orders_patches (id TEXT, total INTEGER, epoch INTEGER,
  _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL, _nulls TEXT,
  PRIMARY KEY (_peerId, _sequenceId)) WITHOUT ROWID;
CREATE INDEX orders_patches_row ON orders_patches (id, _patchedAt, _peerId, _sequenceId);
CREATE TABLE order_lines (orderId TEXT NOT NULL, n INTEGER NOT NULL, qty INTEGER, epoch INTEGER, PRIMARY KEY (orderId, n));
CREATE TABLE order_lines_patches (orderId TEXT, n INTEGER, qty INTEGER, epoch INTEGER,
  _patchedAt INTEGER NOT NULL, _sequenceId INTEGER NOT NULL, _peerId INTEGER NOT NULL, _nulls TEXT,
  PRIMARY KEY (_peerId, _sequenceId)) WITHOUT ROWID;
CREATE INDEX order_lines_patches_row ON order_lines_patches (orderId, n, _patchedAt, _peerId, _sequenceId);`;
export const ORDERS_MIGRATIONS = [{ up: ORDERS_DDL, down: "DROP TABLE order_lines_patches; DROP TABLE order_lines; DROP TABLE orders_patches; DROP TABLE orders;" }];

/** What breaks "a transaction is visible whole or not at all", or undefined. */
export function orderViolation(driver: SimDriver): string | undefined {
  const one = (sql: string) => Number(driver.prepare(sql).get([])![0]);
  if (one("SELECT count(*) FROM order_lines l LEFT JOIN orders o ON o.id = l.orderId WHERE o.id IS NULL") > 0) return "lines without their order";
  if (one("SELECT count(*) FROM order_lines l JOIN orders o ON o.id = l.orderId WHERE l.epoch IS NOT o.epoch") > 0) return "lines of another transaction";
  if (one("SELECT count(*) FROM orders o WHERE (SELECT count(*) FROM order_lines l WHERE l.orderId = o.id) != 4") > 0) return "an order without all four lines";
  if (one("SELECT count(*) FROM orders o WHERE o.total IS NOT (SELECT sum(qty) FROM order_lines l WHERE l.orderId = o.id)") > 0) return "a total that is not its lines' sum";
  return undefined;
}

export function dumpOrders(driver: SimDriver): string {
  const rows = (sql: string) => driver.prepare(sql).all([]);
  return JSON.stringify([rows("SELECT * FROM orders ORDER BY id"), rows("SELECT * FROM order_lines ORDER BY orderId, n")]);
}

export interface GroupSimResult {
  transactions: number;
  receives: number;
  restarts: number;
  deaths: number;
  completed: number;
}

export function simulateGroups(binding: SimBinding, seed: number, steps = 400): GroupSimResult {
  const r = rng(seed);
  const n = 3 + r.int(2);
  const dir = binding.tempDir();
  const wall = { t: 1_800_000_000_000 };
  const batch = 1 + r.int(4);
  const loss = 0.1 + r.next() * 0.15;
  const dup = r.next() * 0.15;
  const edges: Array<[number, number]> = [];
  const topology = r.pick(["line", "hub", "mesh"] as const);
  for (let i = 1; i < n; i++) edges.push(topology === "hub" ? [0, i] : [i - 1, i]);
  if (topology === "mesh") for (let i = 0; i + 2 < n; i++) edges.push([i, i + 2]);
  const neighbours = (i: number) => edges.flatMap(([a, b]) => (a === i ? [b] : b === i ? [a] : []));
  const queue: Array<{ from: number; to: number; bytes: Uint8Array }> = [];
  type Peer = { handle: { driver: SimDriver; close(): void }; driver: CrashingDriver; replica: ReturnType<SimBinding["createReplica"]> };
  const peers: Peer[] = [];
  const result: GroupSimResult = { transactions: 0, receives: 0, restarts: 0, deaths: 0, completed: 0 };

  const check = (i: number, when: string) => {
    const v = orderViolation(peers[i]!.handle.driver);
    if (v) throw new Error(`seed ${seed}: replica ${i + 1} shows ${v} ${when}`);
  };
  const open = (i: number): Peer => {
    const handle = binding.open(join(dir.path, `p${i}.db`));
    const driver = new CrashingDriver(handle.driver);
    const replica = binding.createReplica(driver, { peerId: i + 1, heartbeatMs: 0, now: () => wall.t + i * 3, maxBatchPatches: batch, requestTimeoutMs: 50 });
    replica.migrate(ORDERS_MIGRATIONS);
    for (const j of neighbours(i)) replica.addPeer(j + 1, (bytes) => void queue.push({ from: i, to: j, bytes }));
    return { handle, driver, replica };
  };
  /** The process dies (mid-statement or between calls) and starts again on its file. */
  const restart = (i: number) => {
    const p = peers[i]!;
    p.driver.dead = true;
    p.handle.close();
    for (let k = queue.length - 1; k >= 0; k--) if (queue[k]!.to === i) queue.splice(k, 1); // in flight to a dead process
    peers[i] = open(i);
    result.restarts++;
    check(i, "after a restart");
  };
  /** Runs `fn` on replica i; a death inside it restarts the replica. */
  const guarded = (i: number, fn: () => void): boolean => {
    try {
      fn();
      return true;
    } catch (err) {
      if (!(err instanceof SimCrash) && !peers[i]!.driver.dead) throw err;
      result.deaths++;
      restart(i);
      return false;
    }
  };

  try {
    for (let i = 0; i < n; i++) peers.push(open(i));
    let epoch = 0;
    for (let step = 0; step < steps; step++) {
      wall.t += r.int(3); // often the same millisecond: concurrent transactions tie on the clock
      const i = r.int(n);
      const p = peers[i]!;
      const roll = r.next();
      if (roll < 0.03) p.driver.crashIn = 1 + r.int(40); // dies somewhere in what comes next
      if (roll < 0.3) {
        const order = `o${r.int(3)}`;
        const e = ++epoch;
        const qty = [1, 2, 3, 4].map(() => r.int(10));
        const lines = [1, 2, 3, 4].map((k, x) => ({ orderId: order, n: k, qty: qty[x], epoch: e }));
        const head = { id: order, total: qty.reduce((a, b) => a + b, 0), epoch: e };
        const byMany = r.chance(0.3);
        const linesFirst = r.chance(0.5);
        if (
          guarded(i, () =>
            p.replica.transaction(() => {
              if (!linesFirst) p.replica.upsert("orders", head);
              if (byMany) (p.replica as unknown as { upsertMany(t: string, rows: unknown[]): string[] }).upsertMany("order_lines", r.chance(0.5) ? lines : [...lines].reverse());
              else for (const l of r.chance(0.5) ? lines : [...lines].reverse()) p.replica.upsert("order_lines", l);
              if (linesFirst) p.replica.upsert("orders", head);
            }),
          )
        ) {
          result.transactions++;
          check(i, "after its own transaction");
        }
      } else if (roll < 0.85 && queue.length > 0) {
        const m = queue.splice(r.int(queue.length), 1)[0]!;
        if (r.chance(dup)) queue.push(m);
        if (r.chance(loss)) continue;
        const to = peers[m.to]!;
        if (guarded(m.to, () => to.replica.receive(m.from + 1, m.bytes))) {
          result.receives++;
          check(m.to, "after a receive");
        }
      } else if (roll < 0.97) {
        if (guarded(i, () => p.replica.tick())) check(i, "after a tick");
      } else restart(i);
      p.driver.crashIn = 0;
    }
    // Heal: no more loss or deaths; deliver and tick until nothing moves.
    for (let round = 0; round < 200; round++) {
      wall.t += 100;
      for (const p of peers) p.replica.tick();
      while (queue.length > 0) {
        const m = queue.shift()!;
        peers[m.to]!.replica.receive(m.from + 1, m.bytes);
        result.receives++;
        check(m.to, "while healing");
      }
      const dumps = peers.map((p) => dumpOrders(p.handle.driver));
      const missing = peers.some((p) => p.replica.status().origins.some((o) => o.missing > 0));
      if (!missing && dumps.every((d) => d === dumps[0])) break;
    }
    const dumps = peers.map((p) => dumpOrders(p.handle.driver));
    for (let i = 1; i < n; i++) {
      if (dumps[i] !== dumps[0]) throw new Error(`seed ${seed}: replica ${i + 1} differs from replica 1 after healing\n${dumps[i]}\n${dumps[0]}`);
    }
    for (let i = 0; i < n; i++) check(i, "after healing");
    for (const p of peers) {
      const status = p.replica.status() as unknown as { incompleteGroups: { count: number } };
      if (status.incompleteGroups.count !== 0) throw new Error(`seed ${seed}: a group still waits after healing`);
      result.completed += Number(/^replic_groups_completed_total (\d+)$/m.exec((p.replica as unknown as { metrics(): string }).metrics())?.[1] ?? 0);
    }
    return result;
  } finally {
    for (const p of peers) {
      try {
        p.handle.close();
      } catch {
        /* closed by a crash already */
      }
    }
    dir.remove();
  }
}
