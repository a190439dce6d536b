// conformance/src/util.ts imports node:crypto for sha256, which the browser page never calls:
// digests are computed on the Node side of the test. This stands in for it in the page bundle.
export function createHash(): never {
  throw new Error("node:crypto is not available in the browser page; hash on the Node side");
}
