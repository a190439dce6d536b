// The demo's shared secret: the hub and every page prove it by HMAC in the handshake (WebCrypto
// in the browser). Anything shipped to a page is readable by whoever loads it, so a real app
// authenticates browsers with the server's `authenticate(req)` hook (a session cookie) instead.
export const DEMO_SECRET = "replic-demo-secret";
