import * as undici from "undici";
import { describe, expect, it } from "vitest";
import request from "undici/lib/api/api-request.js";
import Agent from "undici/lib/dispatcher/agent.js";
import Pool from "undici/lib/dispatcher/pool.js";

// The transport imports undici's dispatchers by file, to skip the index's fetch and WebSocket code at
// start-up: an undici release that moves or renames those files must fail here, not in a user's run.
describe("undici's dispatcher and request files", () => {
  it("are the very classes and request call undici's index exports", () => {
    expect(Agent).toBe(undici.Agent);
    expect(Pool).toBe(undici.Pool);
    // The index puts the same function on every dispatcher as its request method.
    expect(new undici.Agent().request).toBe(request);
  });
});
