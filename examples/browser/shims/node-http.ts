/** Browser stand-in for node:http: the transport's server half is never used in a page. */
export function createServer(): never {
  throw new Error("an HTTP server cannot run in a browser");
}
