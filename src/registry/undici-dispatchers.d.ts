// undici's dispatchers and its request call, by their own files: undici's index also loads its fetch,
// WebSocket and cookie code (and, through them, Node's own copy of undici), which cost every command
// ~40 ms of start-up for nothing it uses. The package has no "exports" map, so these paths are
// reachable; a test checks them against the index, so an undici that moves them fails the suite.
declare module "undici/lib/dispatcher/agent.js" {
  import { Agent } from "undici";
  export default Agent;
}
declare module "undici/lib/dispatcher/pool.js" {
  import { Pool } from "undici";
  export default Pool;
}
declare module "undici/lib/api/api-request.js" {
  import type { Dispatcher } from "undici";
  /** `dispatcher.request(options)`, which the index adds to every dispatcher, as a plain function. */
  export default function request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
}
