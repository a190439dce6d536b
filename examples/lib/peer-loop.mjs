// The part every example peer shares: write a note every few ms, answer stop / dump / exit on
// stdin, report on stdout (one JSON object per line).
import { createInterface } from "node:readline";

export function peerLoop(name, { replica, all, close }, onExit) {
  const say = (o) => process.stdout.write(JSON.stringify({ name, ...o }) + "\n");
  let n = Number(all(`SELECT count(*) AS c FROM notes WHERE author = '${name}'`)[0].c);
  const writer = setInterval(() => {
    n++;
    replica.transaction(() => {
      // one SQLite transaction, one message
      replica.upsert("notes", { id: `${name}-${n}`, author: name, n, text: `note ${n} from ${name}` });
      replica.upsert("notes", { id: `pinned-${n % 3}`, author: name, n, text: `last edited by ${name}` }); // everyone edits these
    });
  }, 15);
  createInterface({ input: process.stdin }).on("line", async (line) => {
    const { cmd } = JSON.parse(line);
    if (cmd === "stop") {
      clearInterval(writer);
      say({ ev: "stopped", written: n });
    } else if (cmd === "dump") {
      const rows = all("SELECT id, author, n, text FROM notes ORDER BY id");
      say({ ev: "dump", count: rows.length, rows: JSON.stringify(rows), pinned: rows.filter((r) => r.id.startsWith("pinned")).map((r) => r.author) });
    } else if (cmd === "exit") {
      clearInterval(writer);
      await onExit();
      close();
      process.exit(0);
    }
  });
  return say;
}
