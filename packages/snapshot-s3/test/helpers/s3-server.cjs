// Runs s3rver (an S3-compatible server; checks SigV4 with the key pair S3RVER / S3RVER) on
// loopback. argv: <directory> [port] [bucket...]. Prints "PORT <n>" once listening.
const S3rver = require("s3rver");
const [dir, port = "0", ...buckets] = process.argv.slice(2);
const server = new S3rver({
  address: "127.0.0.1",
  port: Number(port),
  directory: dir,
  silent: true,
  configureBuckets: buckets.map((name) => ({ name, configs: [] })),
});
server.run().then(() => {
  process.stdout.write(`PORT ${server.httpServer.address().port}\n`);
});
process.on("SIGTERM", () => server.close().finally(() => process.exit(0)));
