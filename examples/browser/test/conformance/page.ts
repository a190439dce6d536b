/**
 * Runs the canonical history on the official SQLite WASM build inside the browser, in a dedicated
 * worker (where apps run it), and exposes the result as `window.canonicalResult`.
 */
const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
const out = document.getElementById("out")!;
worker.onmessage = (e: MessageEvent) => {
  (window as unknown as { canonicalResult: unknown }).canonicalResult = e.data;
  out.textContent = e.data.error ? `error: ${e.data.error}` : `done: ${e.data.tokens.length} writes, sqlite ${e.data.sqlite}`;
};
worker.onerror = (e) => {
  (window as unknown as { canonicalResult: unknown }).canonicalResult = { error: e.message };
};
