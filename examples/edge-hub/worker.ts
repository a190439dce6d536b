// The edge hub: a Durable Object on its own SQLite storage is the replic hub; Node, Bun and browser
// spokes dial it with @replic/transport-ws's connectWebSocket. `wrangler deploy` takes this file
// as it is (see wrangler.toml); run.mjs runs it locally in workerd.
import { ReplicHub, routeToHub, type DurableObjectNamespaceLike, type HubConfig } from "@replic/adapter-durable-object";
import { MIGRATIONS } from "../lib/notes-schema.mjs";

interface Env {
  HUB: DurableObjectNamespaceLike;
  /** `wrangler secret put REPLIC_SECRET`; spokes pass the same `secret`. */
  REPLIC_SECRET: string;
}

export class Hub extends ReplicHub<Env> {
  protected override config(env: Env): HubConfig {
    return { secret: env.REPLIC_SECRET, migrations: MIGRATIONS };
  }

  // The hub is an ordinary Durable Object: it can serve its own routes beside the replic ones.
  override async fetch(request: Request): Promise<Response> {
    if (new URL(request.url).pathname === "/notes") {
      return Response.json(this.ctx.storage.sql.exec("SELECT id, author, n, text FROM notes ORDER BY id").toArray());
    }
    return super.fetch(request);
  }
}

export default {
  // One hub object for the whole app (name "replic"); pass another name to shard by tenant.
  fetch: (request: Request, env: Env): Promise<Response> => routeToHub(request, env.HUB),
};
