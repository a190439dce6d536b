/** Forwarding a worker's request to one hub object. */

/** A Durable Object namespace binding (`env.HUB`), reduced to what routing needs. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

/**
 * Sends the request (a WebSocket upgrade, or a status/metrics GET) to the hub object named
 * `name`: one object per name, so one name is one hub. Default name "replic".
 */
export function routeToHub(request: Request, namespace: DurableObjectNamespaceLike, name = "replic"): Promise<Response> {
  return namespace.get(namespace.idFromName(name)).fetch(request);
}
