// Native modules (better-sqlite3) compile against Node's C headers. node-gyp downloads them unless
// told where they are, and that download is the one step of an install that needs a host other than
// the npm registry. Node installs from Debian, distribution packages and version managers ship the
// headers next to the binary (<prefix>/include/node): when those match the running Node, installs
// and the tests that install tarballs point node-gyp at them (npm_config_nodedir).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** The prefix whose include/node holds the running Node's headers, or undefined. */
export function localNodeHeaders(execPath = process.execPath, version = process.versions.node) {
  const prefix = dirname(dirname(execPath));
  const header = join(prefix, "include", "node", "node_version.h");
  if (!existsSync(header)) return undefined;
  const text = readFileSync(header, "utf8");
  const part = (name) => new RegExp(`#define\\s+NODE_${name}_VERSION\\s+(\\d+)`).exec(text)?.[1];
  const found = ["MAJOR", "MINOR", "PATCH"].map(part).join(".");
  return found === version ? prefix : undefined;
}

/** `env` with npm_config_nodedir set to the local headers, unless it is set already or none match. */
export function withNodeHeaders(env = process.env) {
  if (env.npm_config_nodedir || env.NPM_CONFIG_NODEDIR) return env;
  const prefix = localNodeHeaders();
  return prefix ? { ...env, npm_config_nodedir: prefix } : env;
}
