/**
 * The page: renders the todo list with watch() (re-run on merges, no polling) and a status panel
 * from status(); every write goes to the replica in the worker. `window.replic` exposes the client
 * for the console (and the tests).
 */
import { connectReplicaWorker, watch, type ReplicaStatus } from "@replic/adapter-wasm/browser";
import type { Connection, WorkerInit } from "./worker";

interface Todo {
  id: string;
  title: string;
  done: number;
  createdAt: number | null;
  deletedAt: number | null;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const SLOT_KEY = "replic-todos-slot";

/** The hub: `?hub=ws://…` if given, else /replic on the server that served this page. */
function hubUrl(): string {
  const fromQuery = new URLSearchParams(location.search).get("hub");
  if (fromQuery) return fromQuery;
  return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/replic`;
}

const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
const client = connectReplicaWorker(worker);
(window as unknown as { replic: unknown }).replic = { client };

const stored = sessionStorage.getItem(SLOT_KEY);
const secret = new URLSearchParams(location.search).get("secret"); // to try a wrong one: ?secret=nope
const init: WorkerInit = { type: "init", hubUrl: hubUrl(), ...(stored !== null ? { preferredSlot: Number(stored) } : {}), ...(secret !== null ? { secret } : {}) };
worker.postMessage(init);
const info = await client.ready.catch((err: Error) => {
  $("me").textContent = `The replica could not start: ${err.message}`;
  throw err;
});
if (typeof info.slot === "number") sessionStorage.setItem(SLOT_KEY, String(info.slot));

// ---- the list: watch() re-runs each query when a merge touched `todos` -----------------------
function row(t: Todo): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset.id = t.id;
  li.dataset.title = t.title;
  li.className = t.done ? "done" : "";
  const done = document.createElement("input");
  done.type = "checkbox";
  done.className = "done";
  done.checked = !!t.done;
  done.onchange = () => void client.upsert("todos", { id: t.id, done: done.checked ? 1 : 0 });
  const title = document.createElement("input");
  title.className = "title";
  title.value = t.title;
  title.onchange = () => void client.upsert("todos", { id: t.id, title: title.value });
  const del = document.createElement("button");
  del.className = "delete";
  del.textContent = "Delete";
  del.onclick = () => void client.upsert("todos", { id: t.id, deletedAt: Date.now() });
  li.append(done, title, del);
  return li;
}

function deletedRow(t: Todo): HTMLLIElement {
  const li = document.createElement("li");
  li.dataset.id = t.id;
  li.textContent = t.title;
  const restore = document.createElement("button");
  restore.className = "restore";
  restore.textContent = "Restore";
  restore.onclick = () => void client.upsert("todos", { id: t.id, deletedAt: null });
  li.append(restore);
  return li;
}

watch<Todo>(client, "SELECT * FROM todos WHERE deletedAt IS NULL ORDER BY createdAt, id", [], (rows) => {
  const list = $("todos");
  // A row whose title is being typed in keeps its input (and cursor); the rest is rebuilt.
  const focused = document.activeElement instanceof HTMLInputElement && document.activeElement.classList.contains("title") ? document.activeElement.closest("li") : null;
  list.replaceChildren(
    ...rows.map((t) => {
      if (!focused || focused.dataset.id !== t.id) return row(t);
      focused.dataset.title = t.title;
      focused.className = t.done ? "done" : "";
      (focused.querySelector("input.done") as HTMLInputElement).checked = !!t.done;
      return focused;
    }),
  );
  list.dataset.count = String(rows.length);
});
watch<Todo>(client, "SELECT * FROM todos WHERE deletedAt IS NOT NULL ORDER BY deletedAt DESC", [], (rows) => {
  $("deleted").replaceChildren(...rows.map(deletedRow));
  $("deleted-count").textContent = String(rows.length);
});

$("add").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>("title");
  const title = input.value.trim();
  if (!title) return;
  input.value = "";
  void client.upsert("todos", { id: crypto.randomUUID(), title, done: 0, createdAt: Date.now() });
});

// ---- offline toggle ------------------------------------------------------------------------
const offline = $<HTMLInputElement>("offline");
offline.onchange = () => void client.call("setOnline", !offline.checked);
// The link's state comes from the transport in the worker, pushed at each change.
let connection: Connection = { online: false, state: "offline", hubPeerId: null, reason: null };
client.on("connection", (c: Connection) => {
  connection = c;
  void renderStatus();
});
connection = (await client.call("setOnline", true)) as Connection;

// ---- status panel: status() of the replica --------------------------------------------------
let hubHead = 0; // how much of our own writes the hub held at its last heartbeat
function cell(text: string): HTMLTableCellElement {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}
async function renderStatus(): Promise<void> {
  const s: ReplicaStatus = await client.status();
  for (const p of s.peers) hubHead = Math.max(hubHead, p.heads.find((h) => h.peerId === s.peerId)?.contiguous ?? 0);
  const pending = Math.max(0, s.sequence - hubHead);
  const me = $("me");
  const state = connection.state;
  const hub = connection.hubPeerId;
  const linkText =
    state === "connected" ? `connected to hub ${hub}`
    : state === "auth_failed" ? `auth failed: ${connection.reason ?? "refused"} (retrying)`
    : state === "reconnecting" ? `reconnecting${connection.reason ? ` (${connection.reason})` : ""}`
    : state;
  const facts: [string, string][] = [
    ["peer id", String(s.peerId)],
    ["storage", `${info.storage}${info.slot !== null && info.slot !== undefined ? ` (slot ${info.slot})` : ""}`],
    ["link", linkText],
    ["local writes", String(s.sequence)],
    ["pending", `${pending} not yet at the hub`],
    ["sqlite", String(info.sqlite)],
  ];
  me.replaceChildren(
    ...facts.flatMap(([k, v]) => {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = v;
      if (k === "link") {
        dd.className = state === "connected" ? "online" : state === "reconnecting" || state === "connecting" ? "pending" : "offline";
        dd.dataset.testid = "link";
      }
      return [dt, dd];
    }),
  );
  const status = $("status");
  status.dataset.peerId = String(s.peerId);
  status.dataset.storage = String(info.storage);
  status.dataset.slot = String(info.slot);
  status.dataset.link = state;
  status.dataset.hubPeerId = hub === null ? "" : String(hub);
  status.dataset.pending = String(pending);
  $("peers").replaceChildren(
    ...s.peers.map((p) => {
      const tr = document.createElement("tr");
      const age = p.lastContact === null ? "never" : `${Math.max(0, Date.now() - p.lastContact)} ms ago`;
      const isHub = p.peerId === hub;
      tr.dataset.peerId = String(p.peerId);
      if (isHub) tr.dataset.role = "hub";
      tr.append(cell(isHub ? `${p.peerId} (hub)` : String(p.peerId)), cell(String(p.lag)), cell(String(p.behind)), cell(p.clockDriftMs === null ? "–" : `${p.clockDriftMs} ms`), cell(age));
      return tr;
    }),
  );
}
setInterval(() => void renderStatus(), 1000);
client.on("merge", () => void renderStatus());
await renderStatus();
